// Keeps components running, like a kubelet keeps static pods: a gated start
// (spawn, wait for the health check) is retried a bounded number of times when
// the process exits before it is healthy; once started, a process that exits is
// restarted after a back-off (1 s doubling to a cap, reset after a healthy
// while). Every exit is recorded in the home for `pgtls status`. Only processes
// this supervisor spawned, or adopted through a verified pid file, are watched.
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Component } from './component.ts';
import { DEFAULT_BACKOFF, earnsReset, restartDelay, type BackoffPolicy } from './backoff.ts';
import { describeExit, readRecord, writeRecord, type ExitRecord, type SupervisedRecord } from './restart-records.ts';
import { checkHealth, ComponentError, logFile, processState, spawnComponent, tailLog, type SupervisorDirs } from './supervisor.ts';

export interface SupervisorHome extends SupervisorDirs {
  home: string;
}

export interface ProcessSupervisorOptions {
  policy?: BackoffPolicy;
  /** Test hook: the first N spawns of a component get a flag it refuses, so they exit at start. */
  failStarts?: Record<string, number>;
  /** How often adopted processes (not our children) are checked, and back-off resets considered. */
  pollMs?: number;
}

/** The flag the fail-starts hook appends: no component accepts it, so the process exits with a usage error. */
export const FAIL_START_FLAG = '--pgtls-test-fail-start';

interface Exit {
  code: number | null;
  signal: string | null;
}

interface Managed {
  c: Component;
  rec: SupervisedRecord;
  pid: number;
  startedAt: number;
  /** Set when we spawned it: its exit status is ours to read. */
  child?: ChildProcess;
  exit?: Exit;
  /** Exits go to the restart logic only while watched (not during a gated start). */
  watched: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * What the exited process left in its process group (a helper it forked, not
 * detached) goes with it, as a container's processes go with the container:
 * a restart must not meet the old instance's children holding its sockets.
 * The group is the one we created for it (spawned detached, pgid = its pid).
 */
function endGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: nothing was left.
  }
}

export class ProcessSupervisor extends EventEmitter<{ log: [string] }> {
  private readonly managed = new Map<string, Managed>();
  private readonly spawns = new Map<string, number>();
  private readonly policy: BackoffPolicy;
  private readonly ticker: NodeJS.Timeout;
  private stopping = false;
  private ticking = false;
  private wake = new Set<() => void>();

  constructor(
    private readonly dirs: SupervisorHome,
    private readonly opts: ProcessSupervisorOptions = {},
  ) {
    super();
    this.policy = opts.policy ?? DEFAULT_BACKOFF;
    this.ticker = setInterval(() => void this.tick(), opts.pollMs ?? 1000);
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** The component's record as last written. */
  record(name: string): SupervisedRecord | undefined {
    return this.managed.get(name)?.rec;
  }

  /**
   * Starts the component and waits for its health check. A process that exits
   * first is started again after the back-off, up to policy.startAttempts in
   * all; then the start fails with its log. Resolves once it is healthy; from
   * then on it is watched and restarted when it exits.
   */
  async start(c: Component, timeoutMs: number, say: (msg: string) => void = () => {}): Promise<{ pid: number; restarts: number }> {
    if (this.stopping) throw new ComponentError('the supervisor is stopping');
    const deadline = Date.now() + timeoutMs;
    const prev = this.managed.get(c.name);
    if (prev) {
      const st = processState(this.dirs, c);
      if (prev.rec.state === 'running' && st.state === 'running' && st.pid === prev.pid) {
        // Already ours (restarted after a crash a moment ago, or adopted): started means healthy, for it too.
        // A caller that went on before it answered would meet a component that is not serving yet.
        const outcome = await this.gate(prev, deadline);
        if (outcome === 'healthy') return { pid: prev.pid, restarts: prev.rec.restarts };
        if (outcome === 'stopping') throw new ComponentError(`${c.name}: the supervisor is stopping`);
        if (outcome === 'timeout') {
          throw new ComponentError(
            `${c.name} did not become ready within ${Math.round(timeoutMs / 1000)}s (${c.health?.url}). ` +
              `Last lines of ${logFile(this.dirs, c.name)}:\n${tailLog(this.dirs, c.name)}`,
          );
        }
        // It exited while we waited (the watcher counted it): a gated start of our own replaces its pending restart.
        const cur = this.managed.get(c.name);
        // Unless the watcher's restart already ran: then that one is waited for in turn, within what is left.
        if (cur && cur !== prev) return this.start(c, Math.max(1, deadline - Date.now()), say);
      }
      this.forget(prev);
    }
    const rec: SupervisedRecord = { name: c.name, state: 'starting', restarts: 0, failures: 0, component: c };
    const attempts = Math.max(1, this.policy.startAttempts);
    for (let attempt = 1; ; attempt++) {
      const m = this.spawn(c, rec, false);
      this.managed.set(c.name, m);
      say(`${c.name} started (pid ${m.pid})`);
      const outcome = await this.gate(m, Date.now() + timeoutMs);
      if (outcome === 'healthy') {
        rec.state = 'running';
        this.save(rec);
        this.watch(m);
        return { pid: m.pid, restarts: rec.restarts };
      }
      if (outcome === 'stopping') throw new ComponentError(`${c.name}: the supervisor is stopping`);
      if (outcome === 'timeout') {
        // Alive but not healthy: keep watching it; the caller decides what to do with the cluster.
        rec.state = 'running';
        this.save(rec);
        this.watch(m);
        throw new ComponentError(
          `${c.name} did not become ready within ${Math.round(timeoutMs / 1000)}s (${c.health?.url}). ` +
            `Last lines of ${logFile(this.dirs, c.name)}:\n${tailLog(this.dirs, c.name)}`,
        );
      }
      this.noteExit(m, outcome, true);
      if (attempt >= attempts) {
        rec.state = 'failed';
        rec.nextStartAt = undefined;
        this.save(rec);
        this.managed.delete(c.name);
        throw new ComponentError(
          `${c.name} exited during start-up ${attempts} times (last: ${describeExit(outcome)}). ` +
            `Last lines of ${logFile(this.dirs, c.name)}:\n${tailLog(this.dirs, c.name)}`,
        );
      }
      const delay = restartDelay(this.policy, rec.failures);
      rec.state = 'backoff';
      rec.nextStartAt = new Date(Date.now() + delay).toISOString();
      this.save(rec);
      const msg = `${c.name} exited during start-up (${describeExit(outcome)}); start ${attempt + 1} of ${attempts} in ${(delay / 1000).toFixed(0)} s`;
      say(msg);
      this.emit('log', msg);
      await this.sleep(delay);
      if (this.stopping) throw new ComponentError(`${c.name}: the supervisor is stopping`);
    }
  }

  /** Watches a component that already runs (its pid file verified), e.g. after the supervisor itself was restarted. */
  adopt(c: Component): { pid: number; restarts: number } {
    const st = processState(this.dirs, c);
    if (st.state !== 'running') throw new ComponentError(`${c.name} is not running; start it instead`);
    const prev = this.managed.get(c.name);
    if (prev && prev.pid === st.pid) return { pid: prev.pid, restarts: prev.rec.restarts };
    if (prev) this.forget(prev);
    // The restart history of a process that kept running stays with it.
    const old = readRecord(this.dirs.home, c.name);
    const rec: SupervisedRecord = {
      name: c.name,
      state: 'running',
      pid: st.pid,
      startedAt: old?.pid === st.pid ? old.startedAt : new Date().toISOString(),
      restarts: old?.pid === st.pid ? old.restarts : 0,
      failures: old?.pid === st.pid ? old.failures : 0,
      lastExit: old?.pid === st.pid ? old.lastExit : undefined,
      component: c,
    };
    const m: Managed = { c, rec, pid: st.pid, startedAt: rec.startedAt ? Date.parse(rec.startedAt) : Date.now(), watched: true };
    this.managed.set(c.name, m);
    this.save(rec);
    return { pid: st.pid, restarts: rec.restarts };
  }

  /** Stops restarting: pending restarts are cancelled, running processes are left to `down`. */
  shutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.ticker);
    for (const w of this.wake) w();
    for (const m of this.managed.values()) {
      if (m.timer) clearTimeout(m.timer);
      m.watched = false;
      m.rec.state = 'stopped';
      m.rec.nextStartAt = undefined;
      this.save(m.rec);
    }
  }

  private spawn(c: Component, rec: SupervisedRecord, watched: boolean): Managed {
    const n = (this.spawns.get(c.name) ?? 0) + 1;
    this.spawns.set(c.name, n);
    const sabotage = n <= (this.opts.failStarts?.[c.name] ?? 0);
    const child = spawnComponent(this.dirs, c, sabotage ? [FAIL_START_FLAG] : []);
    const m: Managed = { c, rec, pid: child.pid!, startedAt: Date.now(), child, watched };
    child.on('error', () => {
      /* reported through 'exit' */
    });
    child.once('exit', (code, signal) => {
      m.exit = { code, signal };
      endGroup(m.pid);
      if (m.watched) this.onExit(m, m.exit);
    });
    rec.pid = m.pid;
    rec.startedAt = new Date(m.startedAt).toISOString();
    rec.nextStartAt = undefined;
    this.save(rec);
    return m;
  }

  /** Health check until the deadline; an exit or a shutdown ends it early. */
  private async gate(m: Managed, deadline: number): Promise<'healthy' | 'timeout' | 'stopping' | Exit> {
    while (Date.now() < deadline) {
      if (this.stopping) return 'stopping';
      if (m.exit) return m.exit;
      if (await checkHealth(m.c)) {
        // It may have answered and died in the same instant: exit wins.
        return m.exit ?? 'healthy';
      }
      await this.sleep(250);
    }
    return m.exit ?? 'timeout';
  }

  private watch(m: Managed): void {
    m.watched = true;
    if (m.exit) this.onExit(m, m.exit);
  }

  private noteExit(m: Managed, e: Exit, duringStart: boolean): void {
    const now = Date.now();
    const lastExit: ExitRecord = {
      at: new Date(now).toISOString(),
      code: e.code,
      signal: e.signal,
      ranMs: now - m.startedAt,
      duringStart,
      logTail: tailLog(this.dirs, m.c.name, 10).split('\n'),
    };
    m.rec.lastExit = lastExit;
    m.rec.restarts += 1;
    m.rec.failures += 1;
    m.rec.pid = undefined;
  }

  private onExit(m: Managed, e: Exit): void {
    if (this.stopping || this.managed.get(m.c.name) !== m || !m.watched) return;
    m.watched = false;
    this.noteExit(m, e, false);
    const delay = restartDelay(this.policy, m.rec.failures);
    m.rec.state = 'backoff';
    m.rec.nextStartAt = new Date(Date.now() + delay).toISOString();
    this.save(m.rec);
    this.emit(
      'log',
      `${m.c.name} exited (${describeExit(e)}) after ${((Date.now() - m.startedAt) / 1000).toFixed(1)} s; ` +
        `restart ${m.rec.restarts} in ${(delay / 1000).toFixed(0)} s`,
    );
    m.timer = setTimeout(() => this.restart(m), delay);
  }

  private restart(prev: Managed): void {
    if (this.stopping || this.managed.get(prev.c.name) !== prev) return;
    const { c, rec } = prev;
    const st = processState(this.dirs, c);
    if (st.state === 'running') {
      // Somebody (a second `up`, a test) started it meanwhile: watch that one instead of starting another.
      const m: Managed = { c, rec, pid: st.pid, startedAt: Date.now(), watched: true };
      rec.state = 'running';
      rec.pid = st.pid;
      rec.startedAt = new Date(m.startedAt).toISOString();
      rec.nextStartAt = undefined;
      this.managed.set(c.name, m);
      this.save(rec);
      this.emit('log', `${c.name} was started by someone else (pid ${st.pid}); watching it`);
      return;
    }
    let m: Managed;
    try {
      rec.state = 'running';
      m = this.spawn(c, rec, true);
    } catch (err) {
      // Cannot even spawn (binary removed?): count it as an exit, keep backing off.
      const failed: Managed = { c, rec, pid: 0, startedAt: Date.now(), watched: true };
      this.managed.set(c.name, failed);
      this.emit('log', `${c.name}: ${(err as Error).message}`);
      this.onExit(failed, { code: null, signal: null });
      return;
    }
    this.managed.set(c.name, m);
    this.emit('log', `${c.name} restarted (pid ${m.pid}, restart ${rec.restarts})`);
  }

  /** Adopted processes are polled; a process that stays healthy long enough earns a fresh back-off. */
  private async tick(): Promise<void> {
    // Health probes can outlast the interval: one tick at a time.
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.tickOnce();
    } finally {
      this.ticking = false;
    }
  }

  private async tickOnce(): Promise<void> {
    for (const m of [...this.managed.values()]) {
      if (this.stopping || !m.watched) continue;
      if (!m.child) {
        const st = processState(this.dirs, m.c);
        if (st.state !== 'running' || st.pid !== m.pid) {
          // Recorded on it as on a child's exit, so a start waiting on its health sees it went.
          m.exit = { code: null, signal: null };
          this.onExit(m, m.exit);
          continue;
        }
      }
      if (m.rec.failures > 0 && earnsReset(this.policy, m.startedAt, Date.now(), true) && (await checkHealth(m.c))) {
        if (this.managed.get(m.c.name) !== m || !m.watched) continue;
        m.rec.failures = 0;
        this.save(m.rec);
      }
    }
  }

  private forget(m: Managed): void {
    if (m.timer) clearTimeout(m.timer);
    m.watched = false;
    this.managed.delete(m.c.name);
  }

  private save(rec: SupervisedRecord): void {
    try {
      writeRecord(this.dirs.home, rec);
    } catch {
      // The home was deleted under us (down --purge): nothing left to record.
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake.add(done);
    });
  }
}
