// The Helm binary scripts/build-binaries.sh builds from go/helm (pinned by
// HELM_VERSION in go/versions.env), and a small runner for it.
import { existsSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { binaryCache } from '../local/home.ts';
import { repoRoot } from '../util/repo.ts';
import { CHART_DIR } from './chart-files.ts';

export function helmVersion(): string {
  const m = /^HELM_VERSION=(\S+)/m.exec(readFileSync(join(repoRoot(), 'go', 'versions.env'), 'utf8'));
  if (!m) throw new Error('go/versions.env: HELM_VERSION is not set');
  return m[1]!;
}

/** Path of the cached helm binary (it may not be built yet: see helmMissing). */
export function helmBinary(cache = binaryCache()): string {
  const v = helmVersion();
  return join(cache, `helm-${v}`, 'helm');
}

/** Why helm cannot run here, or undefined when it can. */
export function helmMissing(): string | undefined {
  const bin = helmBinary();
  return existsSync(bin) ? undefined : `helm is not built (${bin}); run node scripts/setup.mjs`;
}

export function chartPath(): string {
  return join(repoRoot(), CHART_DIR);
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs helm with its own config/cache/data dirs under `stateDir` when given
 * (so tests never touch the user's repositories or plugins), bounded by a timeout.
 */
export function runHelm(args: string[], opts: { env?: NodeJS.ProcessEnv; stateDir?: string; timeoutMs?: number } = {}): Promise<HelmResult> {
  const env = { ...(opts.env ?? process.env) };
  if (opts.stateDir) {
    env.HELM_CONFIG_HOME = join(opts.stateDir, 'config');
    env.HELM_CACHE_HOME = join(opts.stateDir, 'cache');
    env.HELM_DATA_HOME = join(opts.stateDir, 'data');
  }
  return new Promise((resolve) => {
    execFile(helmBinary(), args, { env, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code !== 0 ? String(err.message) : '') });
    });
  });
}

export async function runHelmOk(args: string[], opts: Parameters<typeof runHelm>[1] = {}): Promise<string> {
  const r = await runHelm(args, opts);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}
