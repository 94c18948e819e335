// The process side of one container: its record (pure facts plus the
// process it runs as), the pid record that lets a restarted agent adopt it,
// process-group signalling, and its log files.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import type { ContainerFacts, State } from './pod-status.ts';
import type { Clock, Timer } from './clock.ts';

export class ContainerRun implements ContainerFacts {
  restartCount = 0;
  state: State = { kind: 'waiting', reason: 'ContainerCreating' };
  last?: State;
  ready = false;
  started = false;
  backoffMs = 0;
  nextStartAt = 0;
  imageDigest?: string;
  pid?: number;
  startTicks?: string;
  child?: ChildProcess;
  /** The identity `kubectl exec` and exec probes take (setpriv options) and the container's environment. */
  setpriv: string[] = [];
  env: Record<string, string> = {};
  timers: Timer[] = [];
  stopping = false;
  exitWaiters: (() => void)[] = [];
  constructor(
    readonly spec: V1Container,
    readonly init: boolean,
  ) {}
  get name(): string {
    return this.spec.name;
  }
}

/** The saved record of a running container. */
export interface Saved {
  pid: number;
  startTicks: string;
  restartCount: number;
  startedAt: string;
  setpriv: string[];
  env: Record<string, string>;
  imageDigest?: string;
}

/** The start time of a live (not zombie) process, in clock ticks since boot; undefined when gone. */
export function startTicks(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return rest[19];
  } catch {
    return undefined; // no such process
  }
}

export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM to the container's process group, SIGKILL after the grace period,
 * then a short wait for stragglers. A child we spawned reports its exit
 * itself; an adopted process (no child handle) is watched through /proc and
 * reported with `adoptedExit`.
 */
export async function terminateGroup(c: ContainerRun, pid: number, graceSeconds: number, clock: Clock, adoptedExit: (sig: NodeJS.Signals) => void): Promise<void> {
  const gone = new Promise<void>((r) => c.exitWaiters.push(r));
  const adopted = !c.child;
  const wait = async (until: number, sig: NodeJS.Signals, stepMs: number) => {
    while (c.pid === pid && clock.now() < until) {
      await Promise.race([gone, clock.sleep(stepMs)]);
      if (adopted && c.pid === pid && startTicks(pid) !== c.startTicks) adoptedExit(sig);
    }
  };
  killGroup(pid, 'SIGTERM');
  await wait(clock.now() + graceSeconds * 1000, 'SIGTERM', adopted ? 200 : 1000);
  if (c.pid === pid) {
    killGroup(pid, 'SIGKILL');
    await wait(clock.now() + 5000, 'SIGKILL', 100);
  }
  const until = clock.now() + 2000;
  while (groupAlive(pid) && clock.now() < until) await clock.sleep(50);
}

const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1, SIGQUIT: 3, SIGABRT: 6 };

export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : 255);
}

export class ContainerFiles {
  constructor(private readonly podDir: string) {}

  private savedPath(name: string): string {
    return join(this.podDir, 'containers', `${name}.json`);
  }

  save(c: ContainerRun): void {
    mkdirSync(join(this.podDir, 'containers'), { recursive: true });
    const s: Saved = {
      pid: c.pid!,
      startTicks: c.startTicks ?? '',
      restartCount: c.restartCount,
      startedAt: (c.state as { startedAt: string }).startedAt,
      setpriv: c.setpriv,
      env: c.env,
      ...(c.imageDigest ? { imageDigest: c.imageDigest } : {}),
    };
    writeFileSync(this.savedPath(c.name), JSON.stringify(s), { mode: 0o600 });
  }

  load(name: string): Saved | undefined {
    const file = this.savedPath(name);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Saved;
    } catch (err) {
      throw new Error(`reading ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  forget(name: string): void {
    rmSync(this.savedPath(name), { force: true });
  }

  logPath(name: string, run: number): string {
    return join(this.podDir, 'logs', name, `${run}.log`);
  }

  /** The log of run `n`; only the current and the previous runs are kept, as the kubelet does. */
  prepareLog(name: string, run: number): string {
    const dir = join(this.podDir, 'logs', name);
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) if (Number.parseInt(f, 10) < run - 1) rmSync(join(dir, f), { force: true });
    return this.logPath(name, run);
  }

  /** The log file of the current (or previous) run, when it exists. */
  logFile(c: ContainerRun, previous: boolean): string | undefined {
    const n = previous ? c.restartCount - 1 : c.restartCount;
    if (n < 0) return undefined;
    const p = this.logPath(c.name, n);
    return existsSync(p) ? p : undefined;
  }
}
