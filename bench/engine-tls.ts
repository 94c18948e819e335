// Engine TLS figures on this machine, with real servers as local processes:
//  - PostgreSQL 15/18 and PgBouncer: reload → new certificate served (ms), per rotation;
//  - Pgpool-II 4.3: restart → new certificate served, and the refused window (largest gap
//    between good handshakes while a probe loop runs through the restart).
import { report } from './report.ts';
import { PgInstance, pgAvailable } from '../test/integration/engines/harness/postgres.ts';
import { PgBouncerInstance, ADMIN } from '../test/integration/engines/harness/pgbouncer.ts';
import { PgpoolInstance } from '../test/integration/engines/harness/pgpool.ts';
import { testPki } from '../test/integration/engines/harness/pki.ts';
import { postgresProcessEngine as postgresEngine, pgbouncerProcessEngine as pgbouncerEngine, pgpoolProcessEngine as pgpoolEngine } from '../test/integration/engines/harness/process/engines.ts';
import { probeTls } from '../src/engines/shared/probe.ts';

const ROTATIONS = 10;
const RESTARTS = 3;

function stats(xs: number[]): { n: number; min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: s.length, min: r(s[0] ?? NaN), median: r(s[Math.floor(s.length / 2)] ?? NaN), max: r(s[s.length - 1] ?? NaN) };
}

const pki = await testPki();
const result: Record<string, unknown> = { rotations: ROTATIONS, restarts: RESTARTS };
const cleanup: (() => Promise<void>)[] = [];
try {
  for (const v of ['15', '18'] as const) {
    if (!pgAvailable(v)) continue;
    const db = await PgInstance.create(v, { sslMode: 'require', clientAuthMode: 'scram', tls: pki.material(pki.caA, await pki.server(pki.caA)) });
    cleanup.push(() => db.destroy());
    const served: number[] = [];
    const probes: number[] = [];
    for (let i = 0; i < ROTATIONS; i++) {
      const leaf = await pki.server(pki.caA);
      await db.installTls(pki.material(pki.caA, leaf));
      const r = await postgresEngine.applyTls(db.target(), { expected: { certPem: leaf.certPem }, precheck: false });
      served.push(r.servedAfterMs);
      probes.push(r.probes);
    }
    result[`postgres${v}_reload_served_ms`] = stats(served);
    result[`postgres${v}_probes_needed`] = stats(probes);
  }

  const backend = await PgInstance.create('15', { sslMode: 'require', clientAuthMode: 'scram', tls: pki.material(pki.caA, await pki.server(pki.caA)) });
  cleanup.push(() => backend.destroy());
  const pgb = await PgBouncerInstance.create(
    (base) => ({ ...base, sslMode: 'require', authType: 'scram', backend: { host: '127.0.0.1', port: backend.port, sslMode: 'require', databaseName: 'postgres' }, users: [ADMIN] }),
    { serving: pki.material(pki.caA, await pki.server(pki.caA)), backendCa: pki.caA.certPem },
  );
  cleanup.push(() => pgb.destroy());
  const pgbServed: number[] = [];
  for (let i = 0; i < ROTATIONS; i++) {
    const leaf = await pki.server(pki.caA);
    await pgb.installServing(pki.material(pki.caA, leaf));
    pgbServed.push((await pgbouncerEngine.applyTls(pgb.target(), { expected: { certPem: leaf.certPem } })).servedAfterMs);
  }
  result.pgbouncer_reload_served_ms = stats(pgbServed);

  const pp = await PgpoolInstance.create(
    (base) => ({ ...base, sslMode: 'require', clientAuthMode: 'scram', backends: [{ host: '127.0.0.1', port: backend.port }], users: [], pcpUsers: [{ name: 'pcp', password: 'pcp' }] }),
    pki.material(pki.caA, await pki.server(pki.caA)),
  );
  cleanup.push(() => pp.destroy());
  const ppServed: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < RESTARTS; i++) {
    const leaf = await pki.server(pki.caA);
    await pp.installTls(pki.material(pki.caA, leaf));
    // Probe loop through the restart: bounded by count and by the restart finishing.
    let running = true;
    const ok: number[] = [];
    const loop = (async () => {
      for (let n = 0; running && n < 5000; n++) {
        if ((await probeTls(pp.target(), { timeoutMs: 500 })).kind === 'tls') ok.push(performance.now());
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // The window only counts if good handshakes were seen before the restart began.
    for (let n = 0; ok.length < 2 && n < 200; n++) await new Promise((res) => setTimeout(res, 5));
    const r = await pgpoolEngine.applyTls(pp.target(), { expected: { certPem: leaf.certPem }, restart: () => pp.restart() });
    await new Promise((res) => setTimeout(res, 50));
    running = false;
    await loop;
    ppServed.push(r.servedAfterMs);
    gaps.push(Math.max(0, ...ok.slice(1).map((t, k) => t - ok[k]!)));
  }
  result.pgpool_restart_served_ms = stats(ppServed);
  result.pgpool_refused_window_ms = stats(gaps);
} finally {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
}

const s = (k: string) => (result[k] as { median?: number } | undefined)?.median;
report(
  'engine-tls',
  result,
  `reload→served median: PG15 ${s('postgres15_reload_served_ms')} ms, PG18 ${s('postgres18_reload_served_ms')} ms, PgBouncer ${s('pgbouncer_reload_served_ms')} ms; ` +
    `Pgpool restart→served ${s('pgpool_restart_served_ms')} ms, refused window ${s('pgpool_refused_window_ms')} ms`,
);
