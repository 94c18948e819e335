// Issue 13 "scale": N Postgres (1 replica, TLS from a cert-manager CA Issuer)
// created together on the local cluster, then all rotated at once (one
// ReconfigureTLS request each), then all moved to another CA. Reports create →
// all Ready, each request's time (p50/p95/max) and the wave's, the requests the
// operator makes per second at rest and during the waves (from its health
// endpoint), its work-queue depth, RSS and CPU. Bounded in count and time.
//   BENCH_SCALE_N (default 5, at most 200), BENCH_SCALE_IDLE_S (default 60),
//   BENCH_SCALE_WAVE_TIMEOUT_S (per phase, default 900), BENCH_SCALE_WAVES=0 (create and
//   rest only: a quick look at memory), PGTLS_TEST_PORT_BASE;
//   PGTLS_RUN_DIST=1 (after `npm run build`) runs the operator compiled, as in its image.
import { readFileSync } from 'node:fs';
import { startTestCluster, type TestCluster } from '../test/helpers/cluster.ts';
import { makeCa, tmpDir } from '../test/helpers/tls.ts';
import { sleep } from '../test/helpers/exec.ts';
import { operatorPorts } from '../src/local/controlplane/components/operator.ts';
import { processState } from '../src/local/controlplane/supervisor.ts';
import { describeCluster } from '../src/local/controlplane/cluster.ts';
import { report } from './report.ts';
import { OPERATOR_NODE_FLAGS } from '../src/install/operator-image.ts';
import { DEFAULT_TUNING } from '../src/operator/manager.ts';
import { histogramDelta, parseProm, type PromSample } from './prom-delta.ts';

const N = Math.min(200, Math.max(1, Number(process.env.BENCH_SCALE_N ?? 5)));
const IDLE_S = Math.min(600, Math.max(10, Number(process.env.BENCH_SCALE_IDLE_S ?? 60)));
const WAVE_TIMEOUT_MS = Math.min(3600, Number(process.env.BENCH_SCALE_WAVE_TIMEOUT_S ?? 900)) * 1000;
const WAVES = process.env.BENCH_SCALE_WAVES !== '0';
const NS = 'scale';
const WRITES = ['create', 'apply', 'patch', 'patchStatus', 'delete', 'exec'];
const TICKS_PER_S = 100; // USER_HZ on Linux

interface OperatorStats {
  requests: Record<string, number>;
  requestsByKind: Record<string, number>;
  applies: { applied: number; skipped: number };
  queues: Record<string, { queued: number; active: number }>;
  /** Connections the operator opened to the API server (keep-alive: few), when it reports them. */
  http?: { connections: number; requests: number; retries: number };
}

interface Sample {
  at: number;
  stats: OperatorStats;
  rssMiB: number;
  cpuS: number;
}

async function sample(c: TestCluster): Promise<Sample> {
  const port = operatorPorts(c.handle.cfg).health;
  const res = await fetch(`http://${c.handle.cfg.host}:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { stats: OperatorStats };
  const op = describeCluster(c.layout)!.components.find((x) => x.name === 'operator')!;
  const st = processState(c.layout, op);
  let rssMiB = 0;
  let cpuS = 0;
  if (st.state === 'running') {
    const status = readFileSync(`/proc/${st.pid}/status`, 'utf8');
    rssMiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    const stat = readFileSync(`/proc/${st.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpuS = (Number(f[11]) + Number(f[12])) / TICKS_PER_S; // utime, stime
  }
  return { at: Date.now(), stats: body.stats, rssMiB, cpuS };
}

const total = (r: Record<string, number>, verbs?: string[]) => Object.entries(r).filter(([v]) => !verbs || verbs.includes(v)).reduce((a, [, n]) => a + n, 0);

/** Requests per second (all, and writes) and CPU share between two samples. */
function rates(a: Sample, b: Sample) {
  const s = (b.at - a.at) / 1000;
  const delta = (verbs?: string[]) => total(b.stats.requests, verbs) - total(a.stats.requests, verbs);
  return {
    seconds: Math.round(s),
    requestsPerS: +(delta() / s).toFixed(2),
    writesPerS: +(delta(WRITES) / s).toFixed(2),
    appliesSkipped: b.stats.applies.skipped - a.stats.applies.skipped,
    appliesSent: b.stats.applies.applied - a.stats.applies.applied,
    ...(a.stats.http && b.stats.http ? { connectionsOpened: b.stats.http.connections - a.stats.http.connections, requestsPerConnection: +((b.stats.http.requests - a.stats.http.requests) / Math.max(1, b.stats.http.connections - a.stats.http.connections)).toFixed(0) } : {}),
    cpuPercent: +((100 * (b.cpuS - a.cpuS)) / s).toFixed(1),
  };
}

const depth = (s: Sample) => Object.values(s.stats.queues).reduce((a, q) => a + q.queued + q.active, 0);

/** The operator's and the API server's Prometheus metrics, for where a wave's time goes. */
async function scrape(c: TestCluster): Promise<{ operator: PromSample; apiserver: PromSample }> {
  const port = operatorPorts(c.handle.cfg).health;
  const op = await (await fetch(`http://${c.handle.cfg.host}:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return { operator: parseProm(op), apiserver: parseProm(await c.kubectlOk(['get', '--raw', '/metrics'])) };
}

/** Per controller (reconcile time, queue wait), per API verb and resource, per admission webhook: count and mean. */
function timeSpent(a: Awaited<ReturnType<typeof scrape>>, b: Awaited<ReturnType<typeof scrape>>) {
  return {
    reconcile: histogramDelta(a.operator, b.operator, 'pgtls_controller_reconcile_duration_seconds', ['controller']),
    queueWait: histogramDelta(a.operator, b.operator, 'pgtls_workqueue_queue_duration_seconds', ['name']),
    // Watches are open for minutes by design: their time says nothing about load.
    apiserver: histogramDelta(a.apiserver, b.apiserver, 'apiserver_request_duration_seconds', ['verb', 'resource', 'subresource'], 25, /^WATCH /),
    webhooks: histogramDelta(a.apiserver, b.apiserver, 'apiserver_admission_webhook_admission_duration_seconds', ['name', 'operation']),
  };
}

async function kubectlJson<T>(c: TestCluster, args: string[]): Promise<T> {
  return JSON.parse(await c.kubectlOk([...args, '-o', 'json'])) as T;
}

/** Polls until every item is done (or the bounded wait ends: `incomplete` says how far it got), sampling the operator meanwhile. */
async function wave(c: TestCluster, what: string, poll: () => Promise<Map<string, number | undefined>>, samples: Sample[]): Promise<{ doneAt: Map<string, number>; ms: number; incomplete?: string }> {
  const t0 = Date.now();
  const doneAt = new Map<string, number>();
  while (Date.now() - t0 < WAVE_TIMEOUT_MS) {
    for (const [name, at] of await poll()) if (at !== undefined && !doneAt.has(name)) doneAt.set(name, at);
    samples.push(await sample(c));
    if (doneAt.size >= N) return { doneAt, ms: Date.now() - t0 };
    await sleep(2000);
  }
  const incomplete = `${what}: ${doneAt.size} of ${N} done after ${WAVE_TIMEOUT_MS / 1000}s`;
  process.stderr.write(`scale: ${incomplete}\n`);
  return { doneAt, ms: Date.now() - t0, incomplete };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const dist = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95), max: Math.max(...xs) });

type Ops = { metadata: { name: string; creationTimestamp: string }; status?: { phase?: string; conditions?: { type: string; lastTransitionTime: string }[] } };

/** Creates one ReconfigureTLS request per database at once; times each from creation to Successful (its condition's time). */
async function opsWave(c: TestCluster, label: string, tls: object, samples: Sample[]) {
  const items = Array.from({ length: N }, (_, i) => ({
    apiVersion: 'ops.kubedb.com/v1alpha1',
    kind: 'PostgresOpsRequest',
    metadata: { name: `${label}-${i}`, namespace: NS, labels: { wave: label } },
    spec: { type: 'ReconfigureTLS', databaseRef: { name: `pg-${i}` }, tls, timeout: '10m' },
  }));
  const before = await sample(c);
  samples.push(before);
  const prom0 = await scrape(c);
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  const failed = new Map<string, string>();
  const perRequest = new Map<string, number>();
  const timelines = new Map<string, Record<string, number>>();
  const w = await wave(c, label, async () => {
    const list = await kubectlJson<{ items: Ops[] }>(c, ['-n', NS, 'get', 'pgops', '-l', `wave=${label}`]);
    const out = new Map<string, number | undefined>();
    for (const o of list.items) {
      const phase = o.status?.phase;
      if (phase === 'Successful' || phase === 'Failed' || phase === 'Skipped') {
        if (phase !== 'Successful') failed.set(o.metadata.name, phase);
        const end = o.status?.conditions?.find((x) => x.type === 'Successful')?.lastTransitionTime;
        perRequest.set(o.metadata.name, end ? Date.parse(end) - Date.parse(o.metadata.creationTimestamp) : NaN);
        // Seconds from creation to each step's condition: where the time goes.
        timelines.set(o.metadata.name, Object.fromEntries((o.status?.conditions ?? []).map((x) => [x.type, Math.round((Date.parse(x.lastTransitionTime) - Date.parse(o.metadata.creationTimestamp)) / 1000)])));
        out.set(o.metadata.name, Date.now());
      }
    }
    return out;
  }, samples);
  const after = samples[samples.length - 1]!;
  const spent = timeSpent(prom0, await scrape(c));
  const times = [...perRequest.values()].filter((x) => Number.isFinite(x));
  const slowest = [...perRequest.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  return {
    wave_s: +(w.ms / 1000).toFixed(1),
    ...(w.incomplete ? { incomplete: w.incomplete } : {}),
    request_s: times.length ? Object.fromEntries(Object.entries(dist(times)).map(([k, v]) => [k, +(v / 1000).toFixed(1)])) : undefined,
    failed: Object.fromEntries(failed),
    slowest: slowest ? { name: slowest, steps_s: timelines.get(slowest) } : undefined,
    operator: { ...rates(before, after), peakQueueDepth: Math.max(...samples.filter((s) => s.at >= before.at).map(depth)), peakRssMiB: +Math.max(...samples.filter((s) => s.at >= before.at).map((s) => s.rssMiB)).toFixed(0) },
    timeSpent: spent,
  };
}

// The operator as a host process: its health endpoint and /proc are read for the figures.
const c = await startTestCluster({ operator: true });
const samples: Sample[] = [];
let result: Record<string, unknown> = {};
try {
  await c.kubectlOk(['create', 'namespace', NS]);
  const issuers = [];
  for (const [secret, issuer, subj] of [['ca-a', 'issuer-a', '/CN=scale-a/O=pgtls'], ['ca-b', 'issuer-b', '/CN=scale-b/O=pgtls']] as const) {
    const ca = await makeCa(tmpDir(), subj);
    await c.kubectlOk(['create', 'secret', 'tls', secret, `--cert=${ca.crt}`, `--key=${ca.key}`, '-n', NS]);
    issuers.push({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: issuer, namespace: NS }, spec: { ca: { secretName: secret } } });
  }
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: issuers }));
  const start = await sample(c);
  samples.push(start);

  // Create: N databases in one apply.
  const dbs = Array.from({ length: N }, (_, i) => ({
    apiVersion: 'kubedb.com/v1',
    kind: 'Postgres',
    metadata: { name: `pg-${i}`, namespace: NS },
    spec: {
      version: '15',
      replicas: 1,
      storageType: 'Ephemeral',
      deletionPolicy: 'WipeOut',
      sslMode: 'verify-full',
      tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'issuer-a' } },
    },
  }));
  const prom0 = await scrape(c);
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: dbs }));
  const created = await wave(c, 'create', async () => {
    const list = await kubectlJson<{ items: { metadata: { name: string }; status?: { phase?: string } }[] }>(c, ['-n', NS, 'get', 'pg']);
    return new Map(list.items.map((d) => [d.metadata.name, d.status?.phase === 'Ready' ? Date.now() : undefined]));
  }, samples);
  const ready = samples[samples.length - 1]!;
  const createStats = { all_ready_s: +(created.ms / 1000).toFixed(1), operator: { ...rates(start, ready), peakQueueDepth: Math.max(...samples.map(depth)) }, timeSpent: timeSpent(prom0, await scrape(c)) };
  process.stderr.write(`scale: ${N} Ready in ${createStats.all_ready_s}s\n`);

  // At rest: what the operator does with N Ready databases and nothing to change.
  await sleep(5000);
  const idle0 = await sample(c);
  await sleep(IDLE_S * 1000);
  const idle1 = await sample(c);
  // What the resident memory is made of: V8's heap (used of total), buffers outside it, and the rest (code, malloc).
  const mem = (await scrape(c)).operator;
  const mib = (k: string) => +((mem.get(k) ?? 0) / 2 ** 20).toFixed(1);
  const memory = { heapUsedMiB: mib('nodejs_heap_size_used_bytes'), heapTotalMiB: mib('nodejs_heap_size_total_bytes'), externalMiB: mib('nodejs_external_memory_bytes'), rssMiB: mib('process_resident_memory_bytes'),
    spacesUsedMiB: Object.fromEntries([...mem.entries()].filter(([k]) => k.startsWith('nodejs_heap_space_size_used_bytes{')).map(([k, v]) => [/space="(\w+)"/.exec(k)?.[1] ?? k, +(v / 2 ** 20).toFixed(1)])) };
  const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.keys(b).map((k) => [k, b[k]! - (a[k] ?? 0)] as const).filter(([, n]) => n !== 0));
  const byKind = diff(idle0.stats.requestsByKind ?? {}, idle1.stats.requestsByKind ?? {});
  // The leader's Lease renewal (every 2 s) is the one write a leader must make; the rest is the databases'.
  const leaseWrites = Object.entries(byKind).filter(([k]) => k.endsWith(' Lease') && WRITES.includes(k.split(' ')[0]!)).reduce((a, [, n]) => a + n, 0);
  const dbWrites = Object.entries(byKind).filter(([k]) => !k.endsWith(' Lease') && WRITES.includes(k.split(' ')[0]!)).reduce((a, [, n]) => a + n, 0);
  const idle = {
    ...rates(idle0, idle1),
    leaseWritesPerS: +(leaseWrites / IDLE_S).toFixed(2),
    otherWritesPerS: +(dbWrites / IDLE_S).toFixed(2),
    rssMiB: +idle1.rssMiB.toFixed(0),
    memory,
    requestsByVerb: diff(idle0.stats.requests, idle1.stats.requests),
    requestsByKind: byKind,
  };
  process.stderr.write(`scale: idle ${idle.requestsPerS} req/s, ${idle.writesPerS} writes/s (${idle.otherWritesPerS}/s besides the Lease), RSS ${idle.rssMiB} MiB\n`);

  let rotate: Awaited<ReturnType<typeof opsWave>> | undefined;
  let changeCa: Awaited<ReturnType<typeof opsWave>> | undefined;
  if (WAVES) {
    rotate = await opsWave(c, 'rotate', { rotateCertificates: true }, samples);
    process.stderr.write(`scale: rotate wave ${rotate.wave_s}s\n`);
    changeCa = await opsWave(c, 'ca', { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'issuer-b' } }, samples);
    process.stderr.write(`scale: CA change wave ${changeCa.wave_s}s\n`);
  }
  result = { n: N, operator: process.env.PGTLS_RUN_DIST === '1' ? 'bundled (dist/bundle)' : 'tsx', nodeFlags: OPERATOR_NODE_FLAGS, tuning: DEFAULT_TUNING, idle_window_s: IDLE_S, create: createStats, idle, rotate, changeCa, peakRssMiB: +Math.max(...samples.map((s) => s.rssMiB)).toFixed(0) };
} finally {
  await c.destroy();
}
const r = result as { create: { all_ready_s: number }; idle: { requestsPerS: number; writesPerS: number; otherWritesPerS: number; rssMiB: number }; rotate?: { wave_s: number; incomplete?: string; request_s?: { p50: number; p95: number; max: number } }; changeCa?: { wave_s: number; incomplete?: string }; peakRssMiB: number };
report(
  'scale',
  result,
  `N=${N}: all Ready ${r.create.all_ready_s}s; idle ${r.idle.requestsPerS} req/s, ${r.idle.writesPerS} writes/s (${r.idle.otherWritesPerS}/s besides the leader Lease), RSS ${r.idle.rssMiB} MiB; ` +
    (r.rotate && r.changeCa
      ? `rotate ${r.rotate.incomplete ?? `all ${r.rotate.wave_s}s`} (per request p50 ${r.rotate.request_s?.p50}s p95 ${r.rotate.request_s?.p95}s max ${r.rotate.request_s?.max}s); CA change ${r.changeCa.incomplete ?? `all ${r.changeCa.wave_s}s`}; `
      : 'no waves (BENCH_SCALE_WAVES=0); ') +
    `peak RSS ${r.peakRssMiB} MiB`,
);
