// Issue 9 figures: the operator started as the image starts it (bundled,
// `node dist/bundle/operator.js operator`), compiled but not bundled (`node
// dist/cli/main.js operator`, all of client-node loaded) and through today's
// loader (`node --import tsx src/cli/main.ts operator`): start → health
// endpoint up, → leading with its webhook called by the API server; RSS idle
// and with 20 Postgres databases. Each runs with the image's node flags and
// malloc settings. Runs alternate, the first (which has cert-manager issue
// the webhook certificate) is a warm-up.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/repo.ts';
import { OPERATOR_MALLOC_ENV, OPERATOR_NODE_FLAGS } from '../src/install/operator-image.ts';
import { OPERATOR_USER, operatorRbac } from '../src/operator/rbac.ts';
import { kubeconfigPath } from '../src/local/controlplane/cluster.ts';
import { startTestCluster } from '../test/helpers/cluster.ts';
import { tmpDir } from '../test/helpers/tls.ts';
import { report } from './report.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DATABASES = Number(process.env.BENCH_DATABASES ?? 20);
const NS = 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Mode = 'bundled' | 'compiled' | 'tsx';
const MODES: Mode[] = ['bundled', 'compiled', 'tsx'];
const ENTRY: Record<Mode, string[]> = {
  bundled: [join(repoRoot(), 'dist', 'bundle', 'operator.js')],
  compiled: [join(repoRoot(), 'dist', 'cli', 'main.js')],
  tsx: ['--import', 'tsx', join(repoRoot(), 'src', 'cli', 'main.ts')],
};
const entry = (m: Mode) => [...OPERATOR_NODE_FLAGS, ...ENTRY[m]];

if (!existsSync(join(repoRoot(), 'dist', 'bundle', 'operator.js'))) {
  process.stderr.write('building dist/ (npm run build)\n');
  const b = spawn(process.execPath, [join(repoRoot(), 'scripts', 'build.mjs')], { stdio: 'inherit' });
  await new Promise((r) => b.once('exit', r));
}

const c = await startTestCluster({ operator: false });
const dir = tmpDir('pgtls-bench-op-');
const webhookPort = c.portBase + 30;
const healthPort = c.portBase + 31;
const runs: { mode: Mode; health_ms: number; leading_ms: number; rss_mib: number }[] = [];
const withDbs: Record<Mode, number[]> = { bundled: [], compiled: [], tsx: [] };
const helpMs: Record<Mode, number[]> = { bundled: [], compiled: [], tsx: [] };

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, child: ChildProcess): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const logs = MODES.map((m) => join(dir, `operator-${m}.log`)).filter((f) => existsSync(f));
      throw new Error(`operator exited (${child.exitCode}) before ${what}:\n${logs.map((f) => `${f}:\n${readFileSync(f, 'utf8').slice(-3000)}`).join('\n')}`);
    }
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function start(mode: Mode): Promise<{ child: ChildProcess; health_ms: number; leading_ms: number }> {
  const log = openSync(join(dir, `operator-${mode}.log`), 'a');
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...entry(mode), 'operator', `--kubeconfig=${kubeconfigPath(c.layout, 'operator')}`, `--webhook-port=${webhookPort}`, `--health-port=${healthPort}`, `--cert-dir=${join(dir, 'cert')}`, `--identity=bench-${mode}`],
    { cwd: repoRoot(), stdio: ['ignore', log, log], detached: true, env: { ...process.env, ...OPERATOR_MALLOC_ENV } },
  );
  const get = (p: string) => fetch(`http://127.0.0.1:${healthPort}${p}`);
  await until('health', async () => ((await get('/healthz')).ok ? true : undefined), 120_000, child);
  const health_ms = performance.now() - t0;
  await until('leading', async () => ((await get('/readyz?leader=true')).ok ? true : undefined), 180_000, child);
  return { child, health_ms, leading_ms: performance.now() - t0 };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000)]);
  if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
}

async function sampleRss(pid: number, n: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(rssMiB(pid));
    await sleep(2000);
  }
  return Math.max(...xs);
}

try {
  // Its namespace, ClusterRole and namespace Role, as `pgtls up` gives them (least privilege: its own
  // Issuers and Certificates only in pgtls-system).
  for (const o of operatorRbac({ user: OPERATOR_USER })) await c.kube.apply(o);
  // Module loading alone: `operator --help`.
  for (let i = 0; i < RUNS; i++) {
    for (const mode of MODES) {
      const t = performance.now();
      const p = spawn(process.execPath, [...entry(mode), 'operator', '--help'], { stdio: 'ignore' });
      await new Promise((r) => p.once('exit', r));
      helpMs[mode].push(Math.round(performance.now() - t));
    }
  }
  const warm = await start('bundled');
  await stop(warm.child);
  for (let i = 0; i < RUNS; i++) {
    for (const mode of MODES) {
      const r = await start(mode);
      await sleep(10_000);
      runs.push({ mode, health_ms: Math.round(r.health_ms), leading_ms: Math.round(r.leading_ms), rss_mib: await sampleRss(r.child.pid!, 3) });
      process.stderr.write(`${mode}: health ${Math.round(r.health_ms)} ms, leading ${Math.round(r.leading_ms)} ms, RSS ${runs.at(-1)!.rss_mib} MiB\n`);
      await stop(r.child);
    }
  }
  // With databases: create them under the bundled operator, then measure each mode against them.
  await c.kubectlOk(['create', 'namespace', NS]);
  const first = await start('bundled');
  const dbs = Array.from({ length: DATABASES }, (_, i) => ({
    apiVersion: 'kubedb.com/v1',
    kind: 'Postgres',
    metadata: { name: `pg-${i}`, namespace: NS },
    spec: { version: '15', replicas: 1, storageType: 'Ephemeral', deletionPolicy: 'WipeOut' },
  }));
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: dbs }));
  const deadline = Date.now() + 900_000;
  for (;;) {
    const out = await c.kubectlOk(['-n', NS, 'get', 'pg', '-o', 'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}']);
    if (out.split('\n').filter((l) => l === 'Ready').length === DATABASES) break;
    if (Date.now() > deadline) throw new Error('databases not Ready in 15 minutes');
    await sleep(2000);
  }
  await stop(first.child);
  for (const mode of MODES) {
    const r = await start(mode);
    await sleep(20_000);
    withDbs[mode].push(await sampleRss(r.child.pid!, 5));
    await stop(r.child);
  }
} finally {
  await c.destroy();
}

const of = (mode: Mode, k: 'health_ms' | 'leading_ms' | 'rss_mib') => runs.filter((r) => r.mode === mode).map((r) => r[k]);
const summary = (mode: Mode) => ({
  help_ms_median: median(helpMs[mode]),
  health_ms_median: median(of(mode, 'health_ms')),
  leading_ms_median: median(of(mode, 'leading_ms')),
  rss_mib_idle_median: median(of(mode, 'rss_mib')),
  rss_mib_with_databases: withDbs[mode][0],
});
const result = { runs, databases: DATABASES, bundled: summary('bundled'), compiled: summary('compiled'), tsx: summary('tsx'), help_ms: helpMs };
const line = (k: keyof ReturnType<typeof summary>, unit: string) => `${MODES.map((m) => result[m][k]).join(' / ')} ${unit}`;
report(
  'operator-start',
  result,
  `bundled / compiled / tsx: \`operator --help\` ${line('help_ms_median', 'ms')}; start → health ${line('health_ms_median', 'ms')}; → leading, webhook called ${line('leading_ms_median', 'ms')}; ` +
    `RSS idle ${line('rss_mib_idle_median', 'MiB')}, with ${DATABASES} Postgres ${line('rss_mib_with_databases', 'MiB')}`,
);
