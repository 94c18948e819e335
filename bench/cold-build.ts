// Issue 2 figure: a cold build of every control-plane binary (empty binary
// cache and empty Go build cache; Go modules already downloaded, as the
// setup step leaves them).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../src/util/repo.ts';
import { report } from './report.ts';

const dir = mkdtempSync(join(tmpdir(), 'pgtls-coldbuild-'));
const t = performance.now();
const r = spawnSync('bash', [join(repoRoot(), 'scripts', 'build-binaries.sh')], {
  env: { ...process.env, PGTLS_BIN_CACHE: join(dir, 'bin'), GOCACHE: join(dir, 'gocache') },
  encoding: 'utf8',
});
const seconds = (performance.now() - t) / 1000;
rmSync(dir, { recursive: true, force: true });
if (r.status !== 0) throw new Error(`build failed:\n${r.stderr}`);
const per: Record<string, number> = {};
for (const m of r.stderr.matchAll(/build-binaries: (\S+) took (\d+)s/g)) per[m[1]!] = Number(m[2]);
report('cold-build', { total_seconds: +seconds.toFixed(1), per_binary_seconds: per }, `cold build ${seconds.toFixed(0)}s (${Object.entries(per).map(([k, v]) => `${k} ${v}s`).join(', ')})`);
