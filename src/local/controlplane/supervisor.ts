// Starts and stops control-plane components as detached process groups, with
// a pid file and a log file each (kwok's binary runtime does the same). The pid
// file is trusted only when /proc shows that pid still runs the same binary and
// started at the recorded time, so a stale pid file never makes us signal
// somebody else's process. Restarting what exits is process-supervisor.ts's job.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Component, HealthCheck } from './component.ts';

export interface SupervisorDirs {
  pids: string;
  logs: string;
}

export type ProcessState =
  | { state: 'running'; pid: number }
  | { state: 'stopped' }
  | { state: 'stale'; pid: number; reason: string };

export class ComponentError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function pidFile(dirs: SupervisorDirs, name: string): string {
  return join(dirs.pids, `${name}.pid`);
}

/** The start time of the pid file's process (see startTimeOf): the pid file itself stays a bare pid, as scripts expect. */
export function startTimeFile(dirs: SupervisorDirs, name: string): string {
  return join(dirs.pids, `${name}.start`);
}

export function logFile(dirs: SupervisorDirs, name: string): string {
  return join(dirs.logs, `${name}.log`);
}

/** True when pid is alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user; it is not ours either way.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The process's start time (clock ticks after boot, /proc/<pid>/stat field 22): with the pid, a process identity that survives pid reuse. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function exeOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return undefined;
  }
}

export function processState(dirs: SupervisorDirs, c: Pick<Component, 'name' | 'binary'>): ProcessState {
  const file = pidFile(dirs, c.name);
  if (!existsSync(file)) return { state: 'stopped' };
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) return { state: 'stale', pid: 0, reason: `unreadable pid file ${file}` };
  if (!isAlive(pid)) return { state: 'stale', pid, reason: `pid ${pid} from ${file} is not running` };
  const exe = exeOf(pid);
  if (exe !== c.binary) return { state: 'stale', pid, reason: `pid ${pid} from ${file} runs ${exe ?? 'something else'}, not ${c.binary}` };
  // "<pid> <start time>" beside the pid file; it counts only for the pid it names (a pid file written by other means has none).
  const startFile = startTimeFile(dirs, c.name);
  const [forPid, started] = existsSync(startFile) ? readFileSync(startFile, 'utf8').trim().split(/\s+/) : [];
  if (forPid === String(pid) && started !== undefined && startTimeOf(pid) !== started) {
    return { state: 'stale', pid, reason: `pid ${pid} from ${file} was reused by another process (started at ${startTimeOf(pid)}, not ${started})` };
  }
  return { state: 'running', pid };
}

export async function assertPortFree(host: string, port: number, owner: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new ComponentError(
          err.code === 'EADDRINUSE'
            ? `port ${host}:${port}, needed by ${owner}, is already in use. Stop whatever holds it ` +
                `(\`ss -ltnp 'sport = :${port}'\`) or create the cluster with another --port-base.`
            : `cannot bind ${host}:${port} for ${owner}: ${err.message}`,
        ),
      );
    });
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve()));
  });
}

export function tailLog(dirs: SupervisorDirs, name: string, lines = 15): string {
  const file = logFile(dirs, name);
  if (!existsSync(file)) return '(no log)';
  const size = statSync(file).size;
  const text = readFileSync(file, 'utf8').slice(Math.max(0, size - 64 * 1024));
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Records pid (and its start time) as the running instance of `name`. */
export function writePidFile(dirs: SupervisorDirs, name: string, pid: number): void {
  mkdirSync(dirs.pids, { recursive: true });
  const started = startTimeOf(pid);
  if (started === undefined) rmSync(startTimeFile(dirs, name), { force: true });
  else writeFileSync(startTimeFile(dirs, name), `${pid} ${started}\n`);
  writeFileSync(pidFile(dirs, name), `${pid}\n`);
}

/** Spawns the component in its own process group; returns its pid. */
export function startProcess(dirs: SupervisorDirs, c: Component): number {
  const child = spawnComponent(dirs, c);
  child.unref();
  return child.pid!;
}

/**
 * The program a component is started with, its arguments and PATH (pure): the
 * binary itself, or `nsenter` execing it inside the namespaces it names (the
 * kubelet runtime's node processes), so the pid stays the binary's and the
 * supervisor's restarts enter the same namespaces.
 */
export function launchCommand(c: Component, extraArgs: string[] = []): { command: string; args: string[]; path: string } {
  const hostPath = process.env.PATH ?? '/usr/bin:/bin';
  if (!c.namespaces) return { command: c.binary, args: [...c.args, ...extraArgs], path: hostPath };
  const ns = c.namespaces;
  return {
    command: 'nsenter',
    args: [...(ns.net ? [`--net=${ns.net}`] : []), ...(ns.mount ? [`--mount=${ns.mount}`] : []), '--', c.binary, ...c.args, ...extraArgs],
    // iptables and the CNI plugins are found on PATH by kube-proxy and containerd.
    path: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${hostPath}`,
  };
}

/**
 * Spawns the component in its own process group, its output appended to its
 * log, and writes its pid file; the caller owns the child (its exit event).
 * `extraArgs` go after the component's own arguments.
 */
export function spawnComponent(dirs: SupervisorDirs, c: Component, extraArgs: string[] = []): ChildProcess {
  if (!existsSync(c.binary)) {
    const setup = c.namespaces ? 'node scripts/setup.mjs --kubelet-runtime' : 'node scripts/setup.mjs';
    throw new ComponentError(`${c.name}: binary ${c.binary} is missing; build it with \`${setup}\``);
  }
  for (const f of [c.namespaces?.net, c.namespaces?.mount]) {
    if (f && !existsSync(f)) throw new ComponentError(`${c.name}: namespace ${f} does not exist (pgtls up creates it)`);
  }
  mkdirSync(dirs.pids, { recursive: true });
  mkdirSync(dirs.logs, { recursive: true });
  const fd = openSync(logFile(dirs, c.name), 'a', 0o600);
  try {
    const { command, args, path } = launchCommand(c, extraArgs);
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH: path, HOME: process.env.HOME ?? '/', ...c.env },
    });
    if (child.pid === undefined) throw new ComponentError(`${c.name}: spawn of ${command} failed`);
    writePidFile(dirs, c.name, child.pid);
    return child;
  } finally {
    closeSync(fd);
  }
}

function probe(h: HealthCheck, timeoutMs: number): Promise<boolean> {
  const url = new URL(h.url);
  return new Promise((resolve) => {
    const opts = {
      method: 'GET',
      timeout: timeoutMs,
      ...(h.socketPath ? { socketPath: h.socketPath } : {}),
      ...(url.protocol === 'https:'
        ? {
            ca: h.ca ? readFileSync(h.ca) : undefined,
            cert: h.clientCert ? readFileSync(h.clientCert) : undefined,
            key: h.clientKey ? readFileSync(h.clientKey) : undefined,
            // Components without a CA here serve a self-signed certificate of their own.
            rejectUnauthorized: h.ca !== undefined,
          }
        : {}),
    };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, opts, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function checkHealth(c: Component, timeoutMs = 2000): Promise<boolean> {
  return c.health ? probe(c.health, timeoutMs) : true;
}

/** Waits until the component answers its health check; fails fast if it exits. */
export async function waitHealthy(dirs: SupervisorDirs, c: Component, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new ComponentError(`${c.name} exited during start-up. Last lines of ${logFile(dirs, c.name)}:\n${tailLog(dirs, c.name)}`);
    }
    if (await checkHealth(c)) return;
    await sleep(250);
  }
  throw new ComponentError(
    `${c.name} did not become ready within ${Math.round(timeoutMs / 1000)}s (${c.health?.url}). ` +
      `Last lines of ${logFile(dirs, c.name)}:\n${tailLog(dirs, c.name)}`,
  );
}

/** SIGTERM to the process group, then SIGKILL after the grace period. */
export async function stopProcess(dirs: SupervisorDirs, c: Component, graceMs = 10_000): Promise<'stopped' | 'not-running'> {
  const st = processState(dirs, c);
  rmSync(pidFile(dirs, c.name), { force: true });
  rmSync(startTimeFile(dirs, c.name), { force: true });
  if (st.state !== 'running') return 'not-running';
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-st.pid, sig);
    } catch {
      try {
        process.kill(st.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(st.pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(st.pid)) signal('SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (isAlive(st.pid) && Date.now() < killDeadline) await sleep(50);
  return 'stopped';
}
