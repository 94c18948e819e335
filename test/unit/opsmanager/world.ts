// A small world for the ops-manager's unit tests: the fake API server, a fake
// clock, cert-manager reduced to "issue what a Certificate asks for, from the
// CA of its issuer" (real X.509, so staging checks the chains as it does on a
// cluster), and pods whose servers serve whatever staged certificate they last
// reloaded, seen through the rollout's probe seam.
import type { k8s } from '../../../src/kube/client.ts';
import type { KubeObject } from '../../../src/kube/api.ts';
import type { Condition } from '../../../src/kube/conditions.ts';
import type { DbObject, OpsObject } from '../../../src/api/objects.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { coversHost, fingerprint256, issueCa, issueLeaf, verifyChain, type IssuedCa } from '../../../src/certs/index.ts';
import { postgres } from '../../../src/kinds/index.ts';
import type { Kind } from '../../../src/kinds/types.ts';
import { selectorLabels } from '../../../src/kinds/info.ts';
import { OpsReconciler } from '../../../src/opsmanager/reconciler.ts';
import type { PodProbe, RolloutContext } from '../../../src/opsmanager/rollout.ts';
import { CHECKED_RELOAD_SCRIPT } from '../../../src/opsmanager/pod-files.ts';
import { WaitFor } from '../../../src/provisioner/context.ts';
import { readSecret } from '../../../src/provisioner/objects.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

export const NS = 'demo';
export const DB = 'pg';
const b64 = (s: string) => Buffer.from(s).toString('base64');

type Certificate = KubeObject & {
  metadata: { name: string; namespace: string; generation?: number };
  spec: { secretName: string; issuerRef: { name: string }; commonName: string; dnsNames?: string[]; ipAddresses?: string[]; usages?: string[] };
  status?: { revision?: number; conditions?: Condition[] };
};

export class World {
  readonly clock = new FakeClock();
  readonly kube = new FakeKube(this.clock);
  readonly cas = new Map<string, IssuedCa>();
  /** Issuers cert-manager cannot issue from (the Certificate stays not Ready). */
  readonly broken = new Set<string>();
  /** What each pod's server serves: the server.crt it read at its last reload (undefined: no TLS). */
  readonly served = new Map<string, string | undefined>();
  readonly reloads: string[] = [];
  readonly ctx: RolloutContext;

  constructor() {
    const log = createLogger('test', 'silent');
    this.ctx = { kube: this.kube, log, clock: this.clock, events: new EventRecorder(this.kube, 'test', 'test', this.clock), probe: this.probe };
    this.kube.execHandler = async (pod, command) => {
      // The checked reload runs its reload as a container without sha256sum would: the wire is the proof here.
      const cmd = command[0] === 'sh' && command[2] === CHECKED_RELOAD_SCRIPT ? command.slice(5) : command;
      if (cmd.join(' ') !== postgres.engine.reloadCommand.join(' ')) return { exitCode: 1, stdout: '', stderr: `unexpected command ${cmd.join(' ')}` };
      const staged = await readSecret(this.kube, NS, `${DB}-tls-certs`);
      this.served.set(pod.name, staged?.['server.crt']);
      this.reloads.push(pod.name);
      return { exitCode: 0, stdout: 'server signaled\n', stderr: '' };
    };
  }

  readonly probe: PodProbe = async (target, opts) => {
    const pod = [...this.served.keys()].find((p) => this.podIp(p) === target.host);
    const cert = pod ? this.served.get(pod) : undefined;
    if (!pod) return { kind: 'error', error: `no pod at ${target.host}` };
    if (!cert) return { kind: 'no-ssl' };
    const authorized = opts.ca ? verifyChain(cert, opts.ca).ok && coversHost(cert, target.serverName) : undefined;
    return { kind: 'tls', fingerprint256: fingerprint256(cert), serial: '', subject: '', issuer: '', notAfter: new Date(0), protocol: 'TLSv1.3', authorized, certPem: cert };
  };

  podIp(pod: string): string {
    return `10.244.0.${10 + Number(pod.split('-').pop())}`;
  }

  /** A Ready, TLS-serving Postgres with two pods, provisioned through the real provisioner. */
  async setup(issuer = 'ca-a'): Promise<void> {
    this.kube.seed({ apiVersion: 'catalog.kubedb.com/v1alpha1', kind: 'PostgresVersion', metadata: { name: '16' }, spec: { version: '16.4', db: { image: 'postgres:16' } } });
    this.kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${DB}-auth`, namespace: NS }, data: { username: b64('postgres'), password: b64('secret') } });
    this.kube.seed({
      apiVersion: 'kubedb.com/v1',
      kind: 'Postgres',
      metadata: { name: DB, namespace: NS, uid: 'pg-uid', finalizers: ['kubedb.com'] },
      spec: { version: '16', replicas: 2, storageType: 'Ephemeral', sslMode: 'verify-full', clientAuthMode: 'md5', tls: { issuerRef: { name: issuer, kind: 'Issuer', apiGroup: 'cert-manager.io' } } },
      status: { phase: 'Ready', conditions: [] },
    });
    for (let i = 0; i < 3; i++) {
      try {
        await postgres.provisioner.apply(this.ctx, await this.db());
        break;
      } catch (err) {
        if (!(err instanceof WaitFor)) throw err;
        await this.certManager();
      }
    }
    const sts = (await this.kube.get<KubeObject>('apps/v1', 'StatefulSet', DB, NS))!;
    for (const name of [`${DB}-0`, `${DB}-1`]) {
      this.kube.seed({
        apiVersion: 'v1',
        kind: 'Pod',
        // Controlled by the StatefulSet, as the real controller makes them: only such pods are the database's.
        metadata: { name, namespace: NS, labels: selectorLabels(postgres.info, DB), ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: DB, uid: sts.metadata!.uid!, controller: true }] },
        spec: { containers: [{ name: 'postgres' }] },
        status: { podIP: this.podIp(name), conditions: [{ type: 'Ready', status: 'True' }] },
      });
      this.served.set(name, (await readSecret(this.kube, NS, `${DB}-tls-certs`))?.['server.crt']);
    }
  }

  async db(): Promise<DbObject> {
    return (await this.kube.get<DbObject>('kubedb.com/v1', 'Postgres', DB, NS))!;
  }

  async ca(issuer: string): Promise<IssuedCa> {
    let ca = this.cas.get(issuer);
    if (!ca) {
      ca = await issueCa({ commonName: `${issuer}-root`, algorithm: 'ecdsa' });
      this.cas.set(issuer, ca);
    }
    return ca;
  }

  /** One pass of cert-manager: (re-)issue every Certificate that asks for it. */
  async certManager(): Promise<void> {
    for (const c of await this.kube.list<Certificate>('cert-manager.io/v1', 'Certificate', { namespace: NS })) {
      if (this.broken.has(c.spec.issuerRef.name)) continue;
      const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
      const issuing = c.status?.conditions?.some((x) => x.type === 'Issuing' && x.status === 'True');
      const secret = await this.kube.get('v1', 'Secret', c.spec.secretName, NS);
      if (secret && !issuing && ready?.status === 'True' && ready.observedGeneration === c.metadata.generation) continue;
      const ca = await this.ca(c.spec.issuerRef.name);
      const server = c.spec.usages?.includes('server auth') ?? false;
      const leaf = await issueLeaf(ca, { commonName: c.spec.commonName, usage: server ? 'server' : 'client', dnsNames: c.spec.dnsNames, ipAddresses: c.spec.ipAddresses, algorithm: 'ecdsa' });
      await this.kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: c.spec.secretName, namespace: NS }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(leaf.certPem), 'tls.key': b64(leaf.keyPem), 'ca.crt': b64(ca.certPem) } });
      const now = new Date(this.clock.now()).toISOString();
      await this.kube.patchStatus({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name: c.metadata.name, namespace: NS }, {
        revision: (c.status?.revision ?? 0) + 1,
        conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'issued', observedGeneration: c.metadata.generation, lastTransitionTime: now }],
      });
    }
  }

  reconciler(kind: Kind = postgres): OpsReconciler {
    return new OpsReconciler(this.ctx, kind);
  }

  /**
   * The StatefulSet controller and kubelet, reduced to: an evicted pod comes
   * back (new uid, same name and address) serving what is staged then.
   */
  recreateEvictedPods(): void {
    let n = 0;
    this.kube.intercept((verb, ref) => {
      if (verb !== 'evict') return undefined;
      setImmediate(() => {
        void (async () => {
          const staged = await readSecret(this.kube, NS, `${DB}-tls-certs`);
          this.served.set(ref.name, staged?.['server.crt']);
          this.kube.seed({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: ref.name, namespace: NS, uid: `${ref.name}-${++n}`, labels: selectorLabels(postgres.info, DB) },
            spec: { containers: [{ name: 'postgres' }] },
            status: { podIP: this.podIp(ref.name), conditions: [{ type: 'Ready', status: 'True' }] },
          });
        })();
      });
      return undefined;
    });
  }

  createOps(name: string, tls: Record<string, unknown>, extra: Record<string, unknown> = {}, createdAt?: string): void {
    this.kube.seed({
      apiVersion: 'ops.kubedb.com/v1alpha1',
      kind: 'PostgresOpsRequest',
      metadata: { name, namespace: NS, uid: `${name}-uid`, creationTimestamp: createdAt },
      spec: { type: 'ReconfigureTLS', databaseRef: { name: DB }, tls, ...extra },
    });
  }

  async ops(name: string): Promise<OpsObject> {
    return (await this.kube.get<OpsObject>('ops.kubedb.com/v1alpha1', 'PostgresOpsRequest', name, NS))!;
  }

  /** Step conditions in the order they were first recorded (sub-steps, with `--` or Check/Get, left out). */
  async steps(name: string): Promise<string[]> {
    const conds = (await this.ops(name)).status?.conditions ?? [];
    return conds.filter((c) => !c.type.includes('--') && !/^(Get|Check)/.test(c.type) && c.status === 'True').map((c) => c.type);
  }

  /** Reconciles until the request is done (or `max` passes), with cert-manager and time moving between passes. */
  async run(name: string, r = this.reconciler(), max = 200): Promise<string> {
    for (let i = 0; i < max; i++) {
      const phase = (await this.ops(name)).status?.phase;
      if (phase === 'Successful' || phase === 'Failed' || phase === 'Skipped') return phase;
      await r.reconcile({ namespace: NS, name });
      await this.certManager();
      this.clock.advance(1_000);
      // Let the stand-in controllers (setImmediate callbacks) act between passes, as time passes for real ones.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return (await this.ops(name)).status?.phase ?? 'Pending';
  }

  async staged(): Promise<Record<string, string> | undefined> {
    return readSecret(this.kube, NS, `${DB}-tls-certs`);
  }

  /** Events in the order they were first recorded. */
  async events(): Promise<{ type: string; reason: string; message: string }[]> {
    type Ev = KubeObject & { type?: string; reason?: string; message?: string; firstTimestamp?: string };
    const evs = await this.kube.list<Ev>('v1', 'Event', { namespace: NS });
    return evs.map((e) => ({ type: e.type ?? '', reason: e.reason ?? '', message: e.message ?? '' }));
  }

  async eventReasons(): Promise<string[]> {
    return (await this.kube.list<KubeObject & { reason?: string }>('v1', 'Event', { namespace: NS })).map((e) => e.reason ?? '');
  }

  pods(): k8s.V1Pod[] {
    return this.kube.snapshot<k8s.V1Pod>({ apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespace: NS });
  }
}
