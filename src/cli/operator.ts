// `pgtls operator`: leader election, the controllers (only while leading), the
// admission webhook (every replica serves it), health and metrics endpoints.
// With --kubeconfig it runs beside a cluster (development, `pgtls up`); without,
// in a pod with its ServiceAccount (the Helm chart).
import { Manager } from '../operator/manager.ts';
import { defaultControllers } from '../operator/controllers.ts';
import { Admission, type AdmissionEndpoint } from '../operator/webhook.ts';
import { Kube } from '../kube/client.ts';
import { installApi } from '../api/install.ts';
import { createLogger } from '../observability/logger.ts';
import { metrics } from '../observability/metrics.ts';
import { servedCertificateControllers } from '../observability/served-cert-prober.ts';
import { formatAddress, parseListenAddress, sameAddress, startEndpoints, type ListenAddress, type RunningEndpoints } from '../observability/http-server.ts';
import { configureCertificatePolicy } from '../certs/policy.ts';
import { configureOwnClientCa, ownClientCaPolicy, type OwnClientCaPolicy } from '../provisioner/specs/client-ca.ts';

export interface OperatorOptions {
  /** Absent: in-cluster, with the pod's ServiceAccount. */
  kubeconfig?: string;
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
  /** Shorthand for --health-addr 127.0.0.1:<port>. */
  healthPort?: number;
  /** Where /healthz and /readyz listen (`host:port`, `:port` for every interface). */
  healthAddr?: string;
  /** Where /metrics listens; default: beside health; `0` turns it off. */
  metricsAddr?: string;
  /** Seconds between the served-certificate prober's passes over each TLS database; 0 turns it off. */
  servedCertProbeInterval?: number;
  identity?: string;
  /** Names certificates may carry beyond a database's own (certs/policy.ts). */
  allowCertificateNames?: string[];
  /** When set, the only ClusterIssuers databases may use. */
  allowedClusterIssuers?: string[];
  /** When a Postgres's or Pgpool's client certificates come from a CA of its own (provisioner/specs/client-ca.ts). */
  ownClientCa?: OwnClientCaPolicy;
  workers?: number;
  opsWorkers?: number;
  resync?: number;
}

/** The health and metrics listeners the flags ask for (loopback unless told otherwise). */
export function endpointPlan(opts: Pick<OperatorOptions, 'healthPort' | 'healthAddr' | 'metricsAddr'>): { health?: ListenAddress; metrics?: ListenAddress } {
  if (opts.healthAddr !== undefined && opts.healthPort !== undefined) throw new Error('give --health-addr or --health-port, not both');
  const health = opts.healthAddr !== undefined ? parseListenAddress('--health-addr', opts.healthAddr) : opts.healthPort !== undefined ? { host: '127.0.0.1', port: opts.healthPort } : undefined;
  if (opts.metricsAddr === '0') return { health };
  const m = opts.metricsAddr !== undefined ? parseListenAddress('--metrics-addr', opts.metricsAddr) : health;
  return { health, metrics: m };
}

function parseService(v: string): { namespace: string; name: string } {
  const m = /^([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(v);
  if (!m) throw new Error(`--webhook-service must be <namespace>/<name>, got ${v}`);
  return { namespace: m[1]!, name: m[2]! };
}

export async function operatorCommand(opts: OperatorOptions): Promise<void> {
  const log = createLogger('pgtls-operator');
  // Before anything admits or builds a certificate; a bad pattern stops the start with its message.
  configureCertificatePolicy({ allowedNames: opts.allowCertificateNames ?? [], ...(opts.allowedClusterIssuers ? { allowedClusterIssuers: opts.allowedClusterIssuers } : {}) });
  configureOwnClientCa(opts.ownClientCa ?? 'cluster-issuers');
  log.info({ allowCertificateNames: opts.allowCertificateNames ?? [], allowedClusterIssuers: opts.allowedClusterIssuers ?? 'any', ownClientCa: ownClientCaPolicy() }, 'certificate policy');
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
    controllers: [...defaultControllers(), ...servedCertificateControllers({ intervalMs: (opts.servedCertProbeInterval ?? 180) * 1000 })],
    log,
    tuning: { workers: opts.workers, opsWorkers: opts.opsWorkers, resyncMs: opts.resync === undefined ? undefined : opts.resync * 1000 },
    onLeading: async (leading) => {
      metrics.setLeading(leading);
      try {
        await admission?.setLeading(leading);
      } catch (err) {
        // The secret poll retries the registration.
        log.error({ err: String(err) }, 'webhook registration failed');
      }
    },
  });
  const plan = endpointPlan(opts);
  const listeners: RunningEndpoints[] = [];
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down');
    void (async () => {
      await mgr.stop().catch(() => undefined);
      await admission?.stop().catch(() => undefined);
      for (const l of listeners) await l.close().catch(() => undefined);
      process.exit(code);
    })();
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  metrics.enableProcessMetrics();
  // Behind a Service, ready means serving: the API server reaches a replica only
  // once it is Ready, so waiting for its call first would never end.
  const health = () => ({
    leader: mgr.isLeader,
    webhookReady: admission ? (opts.webhookService ? admission.state.serving : admission.ready) : true,
    body: { identity: mgr.identity, webhook: admission ? { url: admission.url, ...admission.state } : null, stats: mgr.stats() },
  });
  if (plan.health) {
    const shared = plan.metrics && sameAddress(plan.health, plan.metrics);
    listeners.push(await startEndpoints(plan.health, { health, metrics: shared ? metrics : undefined }));
    log.info({ addr: formatAddress(plan.health) }, `health endpoint (/healthz, /readyz${shared ? ', /metrics' : ''})`);
  }
  if (plan.metrics && !(plan.health && sameAddress(plan.health, plan.metrics))) {
    listeners.push(await startEndpoints(plan.metrics, { metrics }));
    log.info({ addr: formatAddress(plan.metrics) }, 'metrics endpoint (/metrics)');
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
