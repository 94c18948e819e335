// The operator's Prometheus metrics (prom-client), served on /metrics. The
// controller, work queue, ops-manager and rollout call in here with one line
// each; what a number means is decided here.
//
// The figure no other operator exports is the certificate each pod *serves*,
// read from the wire (a pgwire SSLRequest and a TLS handshake), next to the
// certificate its Secret holds: a renewal that never reached the server, or a
// reload the server silently rejected, shows as `matches_secret 0` long before
// the served certificate expires.
import { X509Certificate } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProbeResult } from '../engines/shared/probe.ts';

export const PREFIX = 'pgtls_';

/** One server of a database, as the served-certificate series are labelled. */
export interface ServedTarget {
  kind: string;
  namespace: string;
  database: string;
  pod: string;
  /** The certificate alias the server presents (KubeDB's `server`). */
  alias: string;
}

type DbKey = Pick<ServedTarget, 'kind' | 'namespace' | 'database' | 'alias'>;

/** Observes a keyed work queue; the queue calls these (WorkQueue's `observer`). */
export interface QueueObserver {
  /** The key entered the queue (not a duplicate of a queued one). */
  added(key: string): void;
  /** A worker took the key. */
  taken(key: string): void;
  /** The worker finished with the key. */
  done(key: string): void;
  /** The key was re-added after a failure. */
  retried(key: string): void;
  /** The queue shut down; pending keys are dropped. */
  shutDown(): void;
}

const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const STEP_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

const dbLabels = ['kind', 'namespace', 'database', 'alias'] as const;
const podLabels = ['kind', 'namespace', 'database', 'pod', 'alias'] as const;

/** The kind a pod belongs to, from KubeDB's offshoot label `app.kubernetes.io/name` (`postgreses.kubedb.com`). */
const KIND_OF_RESOURCE: Record<string, string> = {
  'postgreses.kubedb.com': 'Postgres',
  'pgbouncers.kubedb.com': 'PgBouncer',
  'pgpools.kubedb.com': 'Pgpool',
};

/** The served-certificate labels of a database pod, from its offshoot labels; undefined for other pods. */
export function servedTargetOfPod(pod: { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } }, alias = 'server'): ServedTarget | undefined {
  const l = pod.metadata?.labels ?? {};
  const kind = KIND_OF_RESOURCE[l['app.kubernetes.io/name'] ?? ''];
  const database = l['app.kubernetes.io/instance'];
  if (!kind || !database || !pod.metadata?.name || !pod.metadata.namespace) return undefined;
  return { kind, namespace: pod.metadata.namespace, database, pod: pod.metadata.name, alias };
}

/** SHA-256 fingerprint of a PEM certificate, in node's `AA:BB:…` spelling (what probeTls reports). */
export function certFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

const dbId = (k: DbKey) => `${k.kind}/${k.namespace}/${k.database}/${k.alias}`;

/**
 * The served-certificate gauges. State per pod (what it served last) and per
 * database (its Secret's certificate), so either side changing recomputes
 * `matches_secret`.
 */
export class ServedCertificates {
  private readonly expiry: Gauge<(typeof podLabels)[number]>;
  private readonly notBefore: Gauge<(typeof podLabels)[number]>;
  private readonly matches: Gauge<(typeof podLabels)[number]>;
  private readonly probeSuccess: Gauge<(typeof podLabels)[number]>;
  private readonly probeTime: Gauge<(typeof podLabels)[number]>;
  private readonly probes: Counter<'kind' | 'result'>;
  private readonly secretExpiry: Gauge<(typeof dbLabels)[number]>;
  /** dbId → pod → fingerprint served (undefined: not TLS / not known). */
  private readonly served = new Map<string, Map<string, { target: ServedTarget; fingerprint?: string }>>();
  /** dbId → fingerprint of the Secret's certificate. */
  private readonly secrets = new Map<string, string>();

  constructor(registry: Registry) {
    const g = (name: string, help: string) => new Gauge({ name: PREFIX + name, help, labelNames: podLabels, registers: [registry] });
    this.expiry = g('served_certificate_expiry_timestamp_seconds', 'notAfter of the certificate the pod serves, read from a TLS handshake with it (Unix seconds)');
    this.notBefore = g('served_certificate_not_before_timestamp_seconds', 'notBefore of the certificate the pod serves, read from the wire (Unix seconds)');
    this.matches = g('served_certificate_matches_secret', '1 when the certificate the pod serves is the one in its cert-manager Secret, 0 when it differs');
    this.probeSuccess = g('served_certificate_probe_success', '1 when the last TLS probe of the pod got a certificate, 0 when it failed (the other series keep their last values)');
    this.probeTime = g('served_certificate_probe_timestamp_seconds', 'when the pod was last probed (Unix seconds)');
    this.probes = new Counter({ name: PREFIX + 'served_certificate_probes_total', help: 'TLS probes of database pods, by result (tls, no_tls, error)', labelNames: ['kind', 'result'], registers: [registry] });
    this.secretExpiry = new Gauge({ name: PREFIX + 'secret_certificate_expiry_timestamp_seconds', help: 'notAfter of the certificate in the database\'s cert-manager Secret (Unix seconds)', labelNames: dbLabels, registers: [registry] });
  }

  /** A probe of one pod: from the rollout's wire checks and from the periodic prober. */
  observe(t: ServedTarget, r: ProbeResult, now = Date.now()): void {
    const pods = this.podsOf(t);
    this.probeTime.set({ ...t }, now / 1000);
    this.probes.inc({ kind: t.kind, result: r.kind === 'no-ssl' ? 'no_tls' : r.kind });
    if (r.kind === 'error') {
      this.probeSuccess.set({ ...t }, 0);
      if (!pods.has(t.pod)) pods.set(t.pod, { target: t });
      return;
    }
    this.probeSuccess.set({ ...t }, 1);
    if (r.kind === 'no-ssl') {
      // Serving no TLS: no certificate to report.
      pods.set(t.pod, { target: t });
      this.expiry.remove({ ...t });
      this.notBefore.remove({ ...t });
      this.matches.remove({ ...t });
      return;
    }
    pods.set(t.pod, { target: t, fingerprint: r.fingerprint256 });
    this.expiry.set({ ...t }, Math.floor(r.notAfter.getTime() / 1000));
    const nb = notBeforeOf(r.certPem);
    if (nb !== undefined) this.notBefore.set({ ...t }, nb);
    this.updateMatch(t, r.fingerprint256);
  }

  /** A probe of a database pod (the rollout's hook): labels from its offshoot labels. */
  observePod(pod: Parameters<typeof servedTargetOfPod>[0], r: ProbeResult): void {
    const t = servedTargetOfPod(pod);
    if (t) this.observe(t, r);
  }

  /** The certificate of the database's Secret (undefined: no Secret / TLS off). */
  setSecretCertificate(k: DbKey, certPem: string | undefined): void {
    const id = dbId(k);
    const labels = { kind: k.kind, namespace: k.namespace, database: k.database, alias: k.alias };
    if (!certPem) {
      this.secrets.delete(id);
      this.secretExpiry.remove(labels);
    } else {
      const c = new X509Certificate(certPem);
      this.secrets.set(id, c.fingerprint256);
      this.secretExpiry.set(labels, Math.floor(new Date(c.validTo).getTime() / 1000));
    }
    for (const p of this.served.get(id)?.values() ?? []) if (p.fingerprint) this.updateMatch(p.target, p.fingerprint);
  }

  /** Drops the series of the database's pods not in `keep` (gone, or not ready to be probed). */
  retainPods(k: DbKey, keep: ReadonlySet<string>): void {
    const pods = this.served.get(dbId(k));
    for (const [name, p] of pods ?? []) {
      if (keep.has(name)) continue;
      for (const g of [this.expiry, this.notBefore, this.matches, this.probeSuccess, this.probeTime]) g.remove({ ...p.target });
      pods!.delete(name);
    }
  }

  /** Drops every series of the database (deleted, or TLS turned off). */
  forget(k: DbKey): void {
    this.retainPods(k, new Set());
    this.served.delete(dbId(k));
    this.setSecretCertificate(k, undefined);
  }

  /** Every series (this replica stopped leading: another one reports now). */
  reset(): void {
    for (const g of [this.expiry, this.notBefore, this.matches, this.probeSuccess, this.probeTime]) g.reset();
    this.secretExpiry.reset();
    this.served.clear();
    this.secrets.clear();
  }

  private podsOf(t: ServedTarget): Map<string, { target: ServedTarget; fingerprint?: string }> {
    const id = dbId(t);
    let m = this.served.get(id);
    if (!m) this.served.set(id, (m = new Map()));
    return m;
  }

  private updateMatch(t: ServedTarget, fingerprint: string): void {
    const want = this.secrets.get(dbId(t));
    if (want === undefined) return; // not known yet: the prober reads the Secret
    this.matches.set({ ...t }, want === fingerprint ? 1 : 0);
  }
}

function notBeforeOf(pem: string): number | undefined {
  try {
    return Math.floor(new Date(new X509Certificate(pem).validFrom).getTime() / 1000);
  } catch {
    return undefined;
  }
}

/** What an ops request looks like to the metrics: kind, type, phase. */
interface OpsLike {
  metadata?: { uid?: string; name?: string; namespace?: string };
  spec?: { type?: string };
  status?: { phase?: string; conditions?: { type: string; reason?: string; lastTransitionTime?: unknown }[] };
}

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly served: ServedCertificates;
  private readonly reconciles: Counter<'controller' | 'result'>;
  private readonly reconcileErrors: Counter<'controller'>;
  private readonly reconcileTime: Histogram<'controller'>;
  private readonly queueDepth: Gauge<'name'>;
  private readonly queueAdds: Counter<'name'>;
  private readonly queueLatency: Histogram<'name'>;
  private readonly queueWork: Histogram<'name'>;
  private readonly queueRetries: Counter<'name'>;
  private readonly stepTime: Histogram<'kind' | 'type' | 'step'>;
  private readonly leaderGauge: Gauge;
  /** Ops-request kind → the leader's informer cache of them. */
  private readonly opsSources = new Map<string, () => readonly OpsLike[]>();
  /** ops uid → when its last step finished here (ms), for step durations. */
  private readonly lastStep = new Map<string, number>();
  private leading = false;
  private processMetrics = false;

  constructor() {
    const r = [this.registry];
    this.reconciles = new Counter({ name: PREFIX + 'controller_reconcile_total', help: 'Reconciles per controller, by result (success, requeue, error)', labelNames: ['controller', 'result'], registers: r });
    this.reconcileErrors = new Counter({ name: PREFIX + 'controller_reconcile_errors_total', help: 'Reconciles that failed and were requeued with back-off', labelNames: ['controller'], registers: r });
    this.reconcileTime = new Histogram({ name: PREFIX + 'controller_reconcile_duration_seconds', help: 'Time per reconcile', labelNames: ['controller'], buckets: RECONCILE_BUCKETS, registers: r });
    this.queueDepth = new Gauge({ name: PREFIX + 'workqueue_depth', help: 'Keys waiting in the work queue', labelNames: ['name'], registers: r });
    this.queueAdds = new Counter({ name: PREFIX + 'workqueue_adds_total', help: 'Keys that entered the work queue', labelNames: ['name'], registers: r });
    this.queueLatency = new Histogram({ name: PREFIX + 'workqueue_queue_duration_seconds', help: 'Time a key waits in the work queue before a worker takes it', labelNames: ['name'], buckets: RECONCILE_BUCKETS, registers: r });
    this.queueWork = new Histogram({ name: PREFIX + 'workqueue_work_duration_seconds', help: 'Time a worker holds a key', labelNames: ['name'], buckets: RECONCILE_BUCKETS, registers: r });
    this.queueRetries = new Counter({ name: PREFIX + 'workqueue_retries_total', help: 'Keys re-added with back-off after a failure', labelNames: ['name'], registers: r });
    this.stepTime = new Histogram({ name: PREFIX + 'ops_request_step_duration_seconds', help: 'Time an ops request spent in a step, from the previous step to this one', labelNames: ['kind', 'type', 'step'], buckets: STEP_BUCKETS, registers: r });
    this.leaderGauge = new Gauge({ name: PREFIX + 'leader', help: '1 while this replica holds the leader Lease and runs the controllers', registers: r });
    const sources = this.opsSources;
    const isLeading = () => this.leading;
    new Gauge({
      name: PREFIX + 'ops_requests',
      help: 'Ops requests by kind, type and phase, as the leader sees them',
      labelNames: ['kind', 'type', 'phase'],
      registers: r,
      collect() {
        this.reset();
        if (!isLeading()) return;
        for (const [kind, list] of sources) {
          const counts = new Map<string, number>();
          for (const o of list()) {
            const k = `${o.spec?.type ?? ''}\u0000${o.status?.phase || 'Pending'}`;
            counts.set(k, (counts.get(k) ?? 0) + 1);
          }
          for (const [k, n] of counts) {
            const [type, phase] = k.split('\u0000') as [string, string];
            this.set({ kind, type, phase }, n);
          }
        }
      },
    });
    this.served = new ServedCertificates(this.registry);
  }

  /** Node's process metrics (RSS, heap, event-loop lag, GC); only in the operator process. */
  enableProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  setLeading(leading: boolean): void {
    this.leading = leading;
    this.leaderGauge.set(leading ? 1 : 0);
    if (!leading) {
      // The controllers stopped: their numbers are the next leader's to report.
      this.served.reset();
      this.lastStep.clear();
    }
  }

  /** One reconcile finished (Controller's worker). */
  reconciled(controller: string, startedMs: number, result: 'success' | 'requeue' | 'error'): void {
    this.reconciles.inc({ controller, result });
    if (result === 'error') this.reconcileErrors.inc({ controller });
    this.reconcileTime.observe({ controller }, (Date.now() - startedMs) / 1000);
  }

  /** The observer a controller's work queue reports to. */
  queue(name: string): QueueObserver {
    const waiting = new Map<string, number>();
    const working = new Map<string, number>();
    const depth = () => this.queueDepth.set({ name }, waiting.size);
    depth();
    return {
      added: (key) => {
        this.queueAdds.inc({ name });
        if (!waiting.has(key)) waiting.set(key, performance.now());
        depth();
      },
      taken: (key) => {
        const at = waiting.get(key);
        waiting.delete(key);
        this.queueLatency.observe({ name }, at === undefined ? 0 : (performance.now() - at) / 1000);
        working.set(key, performance.now());
        depth();
      },
      done: (key) => {
        const at = working.get(key);
        working.delete(key);
        if (at !== undefined) this.queueWork.observe({ name }, (performance.now() - at) / 1000);
      },
      retried: () => this.queueRetries.inc({ name }),
      shutDown: () => {
        waiting.clear();
        working.clear();
        depth();
      },
    };
  }

  /** The leader's cache of one ops-request kind, counted by type and phase at each scrape. */
  trackOpsRequests(kind: string, list: () => readonly OpsLike[]): void {
    this.opsSources.set(kind, list);
  }

  /**
   * An ops request finished a step (a condition whose reason is its type). The
   * step began when the previous step finished: remembered here, or, after a
   * restart, the latest step condition's lastTransitionTime (whole seconds).
   */
  opsStep(kind: string, op: OpsLike, step: string, nowMs = Date.now()): void {
    const uid = op.metadata?.uid ?? `${op.metadata?.namespace}/${op.metadata?.name}`;
    let since = this.lastStep.get(uid);
    if (since === undefined) {
      const times = (op.status?.conditions ?? [])
        .filter((c) => c.reason === c.type && c.type !== step)
        .map((c) => Date.parse(String(c.lastTransitionTime ?? '')))
        .filter((t) => Number.isFinite(t));
      if (times.length > 0) since = Math.max(...times);
    }
    if (since !== undefined) this.stepTime.observe({ kind, type: op.spec?.type ?? '', step }, Math.max(0, nowMs - since) / 1000);
    // The final step ends the clock; requests that fail never reach it, so the map is bounded too.
    if (step === 'Successful') this.lastStep.delete(uid);
    else {
      if (this.lastStep.size >= 10_000) this.lastStep.clear();
      this.lastStep.set(uid, nowMs);
    }
  }

  /** Prometheus text exposition. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** The process-wide metrics (one operator per process), like prom-client's default registry. */
export const metrics = new OperatorMetrics();
