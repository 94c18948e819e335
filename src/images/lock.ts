// An exclusive lock on a file, held by a `flock` child process: the kernel
// drops it when that child exits, and the child exits when our end of its
// stdin closes, so a build that crashes (or is killed) never leaves a stale lock.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LockOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** Called once if the lock is not free at once (someone else is building). */
  onWait?: () => void;
}

export class LockTimeoutError extends Error {}

export type Release = () => Promise<void>;

export async function acquireLock(file: string, opts: LockOptions): Promise<Release> {
  mkdirSync(dirname(file), { recursive: true });
  const wait = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
  const child = spawn('flock', ['--exclusive', '--wait', String(wait), file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const waitTimer = setTimeout(() => opts.onWait?.(), 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('locked')) resolve();
      });
      child.on('error', (e) => reject(new Error(`flock: ${e.message}`)));
      child.on('exit', (code) => {
        if (code === 1 && stderr === '') reject(new LockTimeoutError(`timed out after ${wait} s waiting for the lock ${file}`));
        else reject(new Error(`flock on ${file} exited with ${code}: ${stderr.trim()}`));
      });
    });
  } finally {
    clearTimeout(waitTimer);
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const gone = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.on('exit', () => resolve());
    });
    child.stdin.end();
    await gone;
  };
}

export async function withLock<T>(file: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(file, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}
