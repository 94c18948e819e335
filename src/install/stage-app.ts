// The operator's /app as the image holds it (and the Dockerfile builds it):
// the compiled dist/, package.json ("type": "module") and the runtime
// dependencies only (`npm ci --omit=dev --omit=optional`: no TypeScript, no
// tsx, no PostgreSQL binaries). Staged in a directory so the image builder can
// layer it, and tests can run the operator from exactly these files.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util/repo.ts';
import { operatorImageSpec } from './operator-image.ts';

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${String(stderr || stdout || err.message).trim().slice(-2000)}`));
      else resolve();
    });
  });
}

export interface StageOptions {
  /** Run `npm run build` first (default true; false reuses an existing dist/). */
  build?: boolean;
  timeoutMs?: number;
}

/** Writes the app into `dir` (emptied first); returns `dir`. */
export async function stageOperatorApp(dir: string, opts: StageOptions = {}): Promise<string> {
  const root = repoRoot();
  const timeoutMs = opts.timeoutMs ?? 900_000;
  if (opts.build ?? true) await run(process.execPath, [join(root, 'scripts', 'build.mjs')], root, timeoutMs);
  if (!existsSync(join(root, 'dist', 'bundle', 'operator.js'))) throw new Error('dist/ is missing: run npm run build');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(root, f), join(dir, f));
  await run('npm', ['ci', '--omit=dev', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], dir, timeoutMs);
  rmSync(join(dir, 'package-lock.json'));
  const want = [...operatorImageSpec().appEntries].sort();
  const got = readdirSync(dir).sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`staged app holds ${got.join(', ')}, expected ${want.join(', ')}`);
  return dir;
}
