// Servers as local processes for engine tests: a short private directory per instance,
// owned by the `postgres` user, and each server spawned in its own process group so that
// stopping it also stops its children (Pgpool leaves orphans otherwise).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export interface ServerUser {
  uid: number;
  gid: number;
}

let cachedUser: ServerUser | undefined;

/** The unprivileged user servers run as (they refuse root). When not root, ourselves. */
export function serverUser(): ServerUser {
  if (cachedUser) return cachedUser;
  if (process.getuid?.() !== 0) return (cachedUser = { uid: process.getuid!(), gid: process.getgid!() });
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return (cachedUser = { uid, gid });
}

/** A short directory (socket paths must stay under 108 bytes), owned by the server user. */
export function instanceDir(tag: string): string {
  const dir = mkdtempSync(`/tmp/pgt-${tag}-`);
  chownSync(dir, serverUser().uid, serverUser().gid);
  return dir;
}

export function subdir(dir: string, name: string, mode = 0o700): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true, mode });
  chownSync(d, serverUser().uid, serverUser().gid);
  return d;
}

export function removeDir(dir: string): void {
  if (!dir.startsWith('/tmp/pgt-')) throw new Error(`refusing to remove ${dir}`);
  rmSync(dir, { recursive: true, force: true });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  exited(): boolean;
  /** Signals the process group, waits for the leader to exit (bounded), then SIGKILLs the group. */
  stop(sig?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  log(): string;
}

export function spawnServer(bin: string, args: string[], o: { logFile: string; cwd: string; env?: Record<string, string> }): ServerProcess {
  const u = serverUser();
  const fd = openSync(o.logFile, 'a', 0o644);
  const child = spawn(bin, args, {
    cwd: o.cwd,
    uid: u.uid,
    gid: u.gid,
    detached: true, // own process group: stop() kills the whole group
    stdio: ['ignore', fd, fd],
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: o.cwd, ...o.env },
  });
  closeSync(fd);
  if (!child.pid) throw new Error(`could not spawn ${bin}`);
  const pid = child.pid;
  let gone = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((gone = true), r())));
  const kill = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      /* already gone */
    }
  };
  return {
    pid,
    child,
    logFile: o.logFile,
    exited: () => gone,
    log: () => readFileSync(o.logFile, 'utf8'),
    async stop(sig = 'SIGINT', timeoutMs = 10_000) {
      if (!gone) kill(sig);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
      if ((await Promise.race([exit.then(() => 'exit' as const), timer])) === 'timeout') kill('SIGKILL');
      await Promise.race([exit, new Promise((r) => setTimeout(r, 2000).unref())]);
      // Children of the group (Pgpool's) may outlive the leader by a moment.
      kill('SIGKILL');
    },
  };
}

/** Polls fn until truthy, bounded by time and count. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < Math.ceil(timeoutMs / everyMs) + 1 && Date.now() < deadline; i++) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
