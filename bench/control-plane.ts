// Issue 2 figures: `pgtls up` to ready with binaries cached (a new home, then a
// second up of the same home), and each component's RSS at idle.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homeLayout } from '../src/local/home.ts';
import { down, up } from '../src/local/controlplane/cluster.ts';
import { processState } from '../src/local/controlplane/supervisor.ts';
import { report } from './report.ts';

const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

const coldUp: number[] = [];
const warmUp: number[] = [];
let idle: Record<string, number> = {};
for (let i = 0; i < rounds; i++) {
  const layout = homeLayout(mkdtempSync(join(tmpdir(), 'pgtls-bench-')));
  try {
    let t = performance.now();
    await up(layout, { portBase: 25000 + i * 10 });
    coldUp.push((performance.now() - t) / 1000);
    await down(layout);
    t = performance.now();
    const handle = await up(layout);
    warmUp.push((performance.now() - t) / 1000);
    if (i === rounds - 1) {
      await new Promise((r) => setTimeout(r, idleSeconds * 1000));
      idle = {};
      for (const c of handle.components) {
        const st = processState(layout, c);
        if (st.state === 'running') idle[c.name] = rss(st.pid);
      }
    }
  } finally {
    await down(layout, { purge: true });
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const total = Object.values(idle).reduce((a, b) => a + b, 0);
report(
  'control-plane',
  {
    up_new_home_seconds: coldUp.map((x) => +x.toFixed(2)),
    up_existing_home_seconds: warmUp.map((x) => +x.toFixed(2)),
    idle_rss_mib: idle,
    idle_rss_total_mib: total,
    idle_seconds: idleSeconds,
  },
  `up (new home) median ${med(coldUp).toFixed(1)}s, up (existing home) median ${med(warmUp).toFixed(1)}s, idle RSS ${total} MiB total (${Object.entries(idle).map(([k, v]) => `${k} ${v}`).join(', ')})`,
);
