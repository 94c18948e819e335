// The periodic served-certificate prober: for every database with TLS, each
// pod is probed from the wire the way the rollout proves a reload (its pod
// address, SSLRequest + TLS handshake), and the Secret's certificate is read,
// so the `pgtls_served_certificate_*` gauges stay current between ops
// requests. A controller like the others (leader only, level-triggered): a
// database or its Secrets changing probes it at once, then every interval.
import { Controller, type ObjectKey, type Reconciler, type Result } from '../kube/controller.ts';
import { Informer } from '../kube/informer.ts';
import type { k8s } from '../kube/client.ts';
import type { ControllerFactory, OperatorContext } from '../operator/manager.ts';
import type { DbObject } from '../api/objects.ts';
import { KINDS, type Kind } from '../kinds/index.ts';
import { podsOf, probePod } from '../opsmanager/rollout.ts';
import { podReady, readSecret } from '../provisioner/objects.ts';
import { certSecretNames } from '../provisioner/tls.ts';
import type { TLSConfig } from '../api/shared/tls.ts';
import { metrics as defaultMetrics, type OperatorMetrics } from './metrics.ts';

export interface ProberOptions {
  /** Between passes over one database; 0 turns the prober off. */
  intervalMs: number;
  metrics?: OperatorMetrics;
}

/** The alias whose certificate the servers present. */
const SERVED_ALIAS = 'server';
/** A pass probes at most this many pods of one database (each bounded by the probe's 2 s timeout). */
const MAX_PODS_PER_PASS = 64;

export class ServedCertificateProber implements Reconciler {
  constructor(
    private readonly ctx: OperatorContext,
    private readonly k: Kind,
    private readonly opts: ProberOptions,
  ) {}

  private get m(): OperatorMetrics {
    return this.opts.metrics ?? defaultMetrics;
  }

  async reconcile(key: ObjectKey): Promise<Result | void> {
    const { info } = this.k;
    const dbKey = { kind: info.kind, namespace: key.namespace, database: key.name, alias: SERVED_ALIAS };
    const db = await this.ctx.kube.get<DbObject>(info.apiVersion, info.kind, key.name, key.namespace);
    const tls = (db?.spec as { tls?: TLSConfig } | undefined)?.tls;
    if (!db || db.metadata.deletionTimestamp || !tls?.issuerRef) {
      this.m.served.forget(dbKey);
      return;
    }
    const secret = await readSecret(this.ctx.kube, key.namespace, certSecretNames(db as unknown as { metadata: DbObject['metadata']; spec: { tls?: TLSConfig } }).server);
    this.m.served.setSecretCertificate(dbKey, secret?.['tls.crt'] || undefined);
    const port = this.k.ops.port(db);
    const pods = (await podsOf(this.ctx, this.k, db)).slice(0, MAX_PODS_PER_PASS);
    const seen = new Set<string>();
    for (const pod of pods) {
      if (!pod.status?.podIP || !podReady(pod)) continue;
      seen.add(pod.metadata!.name!);
      // probePod records the result in the served-certificate gauges.
      await probePod(this.ctx, pod, port, 'no-ssl');
    }
    this.m.served.retainPods(dbKey, seen);
    return { requeueAfterMs: jitter(this.opts.intervalMs) };
  }
}

/** ±10 %, so databases created together are not probed in lockstep forever. */
function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

/** One prober controller per database kind: one worker, so probes never pile up. */
export function servedCertificateController(k: Kind, opts: ProberOptions): ControllerFactory {
  return (ctx: OperatorContext) => {
    const { info } = k;
    const dbs = new Informer<DbObject>(ctx.kube, { apiVersion: info.apiVersion, kind: info.kind, plural: info.plural });
    // The cert-manager Secrets carry the offshoot labels (the Certificates' secretTemplate).
    const secrets = new Informer<k8s.V1Secret>(ctx.kube, { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', labelSelector: `app.kubernetes.io/name=${info.resourceName}` });
    const byInstance = (o: k8s.KubernetesObject) => {
      const name = o.metadata?.labels?.['app.kubernetes.io/instance'];
      return name ? [{ namespace: o.metadata?.namespace ?? '', name }] : [];
    };
    return new Controller(`served-certificates-${info.kind.toLowerCase()}`, new ServedCertificateProber(ctx, k, opts), ctx.log, { workers: 1 })
      .watchFor(dbs)
      .watchMapped(secrets, byInstance);
  };
}

export function servedCertificateControllers(opts: ProberOptions): ControllerFactory[] {
  if (opts.intervalMs <= 0) return [];
  return KINDS.map((k) => servedCertificateController(k, opts));
}
