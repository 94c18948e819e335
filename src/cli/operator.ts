// `pgtls operator`: leader election, the controllers (only while leading), the
// admission webhook (every replica serves it), and a loopback health endpoint.
import { createServer, type Server } from 'node:http';
import { Manager } from '../operator/manager.ts';
import { defaultControllers } from '../operator/controllers.ts';
import { Admission, type AdmissionEndpoint } from '../operator/webhook.ts';
import { Kube } from '../kube/client.ts';
import { installApi } from '../api/install.ts';
import { createLogger } from '../observability/logger.ts';
import { configureCertificatePolicy } from '../certs/policy.ts';

export interface OperatorOptions {
  kubeconfig: string;
  leaderElect: boolean;
  namespace: string;
  leaseNamespace?: string;
  installCrds?: boolean;
  webhook: boolean;
  webhookHost: string;
  webhookPort: number;
  webhookService?: string;
  webhookServicePort?: number;
  webhookClientCa?: string;
  webhookClientName?: string[];
  certDir?: string;
  healthPort?: number;
  identity?: string;
  /** Names certificates may carry beyond a database's own (certs/policy.ts). */
  allowCertificateNames?: string[];
  /** When set, the only ClusterIssuers databases may use. */
  allowedClusterIssuers?: string[];
  workers?: number;
  opsWorkers?: number;
  resync?: number;
}

function parseService(v: string): { namespace: string; name: string } {
  const m = /^([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(v);
  if (!m) throw new Error(`--webhook-service must be <namespace>/<name>, got ${v}`);
  return { namespace: m[1]!, name: m[2]! };
}

/**
 * GET /healthz: the process runs. GET /readyz: the webhook serves (and, where
 * this replica registers it, the API server calls it); `?leader=true` also
 * requires leadership, which is what `pgtls up` waits on.
 */
function startHealthServer(port: number, state: () => { leader: boolean; webhookReady: boolean; body: object }): Promise<Server> {
  const srv = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const s = state();
    let ok: boolean;
    if (url.pathname === '/healthz') ok = true;
    else if (url.pathname === '/readyz') ok = s.webhookReady && (url.searchParams.get('leader') !== 'true' || s.leader);
    else {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok, leader: s.leader, ...s.body }) + '\n');
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    // Loopback only: the endpoint tells who leads, nothing else should reach it.
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

export async function operatorCommand(opts: OperatorOptions): Promise<void> {
  const log = createLogger('pgtls-operator');
  // Before anything admits or builds a certificate; a bad pattern stops the start with its message.
  configureCertificatePolicy({ allowedNames: opts.allowCertificateNames ?? [], ...(opts.allowedClusterIssuers ? { allowedClusterIssuers: opts.allowedClusterIssuers } : {}) });
  log.info({ allowCertificateNames: opts.allowCertificateNames ?? [], allowedClusterIssuers: opts.allowedClusterIssuers ?? 'any' }, 'certificate policy');
  const kube = Kube.fromFile(opts.kubeconfig);
  if (opts.installCrds) {
    await installApi(kube);
    log.info('CRDs and version catalog installed');
  }
  let admission: Admission | undefined;
  if (opts.webhook) {
    const endpoint: AdmissionEndpoint = opts.webhookService
      ? { kind: 'service', ...parseService(opts.webhookService), port: opts.webhookServicePort }
      : { kind: 'url', host: opts.webhookHost, port: opts.webhookPort };
    admission = new Admission(kube, {
      namespace: opts.namespace,
      endpoint,
      listenHost: opts.webhookHost,
      listenPort: opts.webhookPort,
      certDir: opts.certDir,
      clientCaFile: opts.webhookClientCa,
      clientNames: opts.webhookClientName,
      log: log.child({ component: 'webhook' }),
    });
  }
  const mgr = new Manager({
    kubeconfig: opts.kubeconfig,
    leaderElection: opts.leaderElect,
    leaseNamespace: opts.leaseNamespace ?? opts.namespace,
    identity: opts.identity,
    controllers: defaultControllers(),
    log,
    tuning: { workers: opts.workers, opsWorkers: opts.opsWorkers, resyncMs: opts.resync === undefined ? undefined : opts.resync * 1000 },
    onLeading: async (leading) => {
      try {
        await admission?.setLeading(leading);
      } catch (err) {
        // The secret poll retries the registration.
        log.error({ err: String(err) }, 'webhook registration failed');
      }
    },
  });
  let health: Server | undefined;
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down');
    void (async () => {
      await mgr.stop().catch(() => undefined);
      await admission?.stop().catch(() => undefined);
      health?.closeAllConnections();
      health?.close();
      process.exit(code);
    })();
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  if (opts.healthPort !== undefined) {
    health = await startHealthServer(opts.healthPort, () => ({
      leader: mgr.isLeader,
      webhookReady: admission ? admission.ready : true,
      body: { identity: mgr.identity, webhook: admission ? { url: admission.url, ...admission.state } : null, stats: mgr.stats() },
    }));
    log.info({ port: opts.healthPort }, 'health endpoint on 127.0.0.1 (/healthz, /readyz)');
  }
  await admission?.start();
  log.info({ identity: mgr.identity, leaderElection: opts.leaderElect }, opts.leaderElect ? 'waiting for leadership' : 'starting without leader election');
  await mgr.run();
  if (!opts.leaderElect) {
    // Without leader election run() returns once controllers started; stay up until signalled.
    await new Promise<void>(() => undefined);
  }
  // run() returns with election only when leadership was lost: exit, a supervisor restarts us.
  if (!stopping) {
    log.error('leadership lost; exiting');
    stop(1);
  }
}
