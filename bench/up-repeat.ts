// Issue 13 "done when": N consecutive `pgtls up --detach` / `pgtls down --purge`
// on fresh homes, through the CLI as a user runs it. Reports how many ups
// succeeded, the start retries the supervisor made (which component, how it
// exited), and the times. Bounded: N ≤ 100 and a total time budget.
//   BENCH_UP_REPEAT_N (default 20), BENCH_UP_TIMEOUT_S (per up, default 300),
//   BENCH_UP_BUDGET_MIN (default 90), PGTLS_TEST_PORT_BASE (ports base … base+12).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homeLayout } from '../src/local/home.ts';
import { readRecords } from '../src/local/controlplane/restart-records.ts';
import { repoRoot } from '../src/util/repo.ts';
import { report } from './report.ts';

const n = Math.min(100, Math.max(1, Number(process.env.BENCH_UP_REPEAT_N ?? 20)));
const upTimeoutS = Number(process.env.BENCH_UP_TIMEOUT_S ?? 300);
const budgetMs = Number(process.env.BENCH_UP_BUDGET_MIN ?? 90) * 60_000;
const portBase = Number(process.env.PGTLS_TEST_PORT_BASE) > 1024 ? Number(process.env.PGTLS_TEST_PORT_BASE) : 24000;

interface Cli {
  code: number | null;
  seconds: number;
  output: string;
}

function pgtls(home: string, args: string[], timeoutS: number): Promise<Cli> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'pgtls.mjs'), ...args], {
      env: { ...process.env, PGTLS_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, seconds: (performance.now() - t0) / 1000, output });
    });
  });
}

interface Retry {
  run: number;
  component: string;
  restarts: number;
  lastExit: string;
  lastLine: string;
}

const runs: { run: number; ok: boolean; up_s: number; down_s: number; retries: number; error?: string }[] = [];
const retries: Retry[] = [];
const started = Date.now();
for (let i = 1; i <= n; i++) {
  if (Date.now() - started > budgetMs) {
    process.stderr.write(`up-repeat: time budget spent after ${i - 1} runs\n`);
    break;
  }
  const home = mkdtempSync(join(tmpdir(), 'pgtls-uprep-'));
  const up = await pgtls(home, ['up', '--detach', `--port-base=${portBase}`, '--operator=process'], upTimeoutS);
  // What the supervisor retried during this up (every restart count is a failed start: nothing was killed).
  let count = 0;
  for (const r of readRecords(homeLayout(home).home)) {
    if (r.restarts === 0) continue;
    count += r.restarts;
    const e = r.lastExit;
    retries.push({
      run: i,
      component: r.name,
      restarts: r.restarts,
      lastExit: e ? (e.signal ? `signal ${e.signal}` : `exit code ${e.code}`) : 'unknown',
      lastLine: (e?.logTail ?? []).filter((l) => /fatal|panic|error/i.test(l)).slice(-1)[0]?.slice(0, 200) ?? '',
    });
  }
  const down = await pgtls(home, ['down', '--purge'], 120);
  if (existsSync(home)) rmSync(home, { recursive: true, force: true });
  const ok = up.code === 0;
  runs.push({ run: i, ok, up_s: +up.seconds.toFixed(1), down_s: +down.seconds.toFixed(1), retries: count, ...(ok ? {} : { error: up.output.trim().split('\n').slice(-12).join('\n') }) });
  process.stderr.write(`up-repeat: run ${i}/${n} ${ok ? 'ok' : 'FAILED'} up ${up.seconds.toFixed(1)} s, down ${down.seconds.toFixed(1)} s, ${count} start retries\n`);
  if (down.code !== 0) process.stderr.write(`up-repeat: down failed:\n${down.output}\n`);
}

const ups = runs.filter((r) => r.ok).map((r) => r.up_s).sort((a, b) => a - b);
const q = (p: number) => ups[Math.min(ups.length - 1, Math.floor(p * ups.length))] ?? NaN;
const succeeded = runs.filter((r) => r.ok).length;
const totalRetries = retries.reduce((a, r) => a + r.restarts, 0);
const byComponent = retries.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.component]: (acc[r.component] ?? 0) + r.restarts }), {});
report(
  'up-repeat',
  {
    runs: runs.length,
    succeeded,
    start_retries: totalRetries,
    start_retries_by_component: byComponent,
    retries,
    up_seconds: { min: ups[0] ?? NaN, p50: q(0.5), p95: q(0.95), max: ups[ups.length - 1] ?? NaN },
    down_seconds_p50: [...runs.map((r) => r.down_s)].sort((a, b) => a - b)[Math.floor(runs.length / 2)],
    per_run: runs,
  },
  `${succeeded}/${runs.length} consecutive up --detach on fresh homes succeeded; ${totalRetries} start retries` +
    `${totalRetries ? ` (${Object.entries(byComponent).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}; ` +
    `up p50 ${q(0.5)} s, max ${ups[ups.length - 1] ?? NaN} s`,
);
if (succeeded < runs.length) process.exitCode = 1;
