// `pgtls up`'s side of the supervisor: find the cluster's supervisor process
// (its pid file verified like any component's) or spawn it, then ask it to
// start or adopt components over its socket. `down` stops it before anything
// else, so nothing is restarted while the cluster goes down.
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { HomeLayout } from '../home.ts';
import type { Component } from './component.ts';
import { jsonLines, send, socketPath, type SupervisorMessage, type SupervisorRequest } from './supervisor-daemon.ts';
import { ComponentError, isAlive, logFile, processState, spawnComponent, stopProcess, tailLog, type ProcessState } from './supervisor.ts';

export const SUPERVISOR = 'supervisor';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The supervisor as a process record: node running supervisor-main (through tsx when run from source). */
export function supervisorComponent(home: string): Component {
  const main = fileURLToPath(new URL(`./supervisor-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
  const loader = import.meta.url.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  const env: Record<string, string> = {};
  // The test hook travels to the supervisor, which is what spawns components.
  if (process.env.PGTLS_TEST_FAIL_STARTS) env.PGTLS_TEST_FAIL_STARTS = process.env.PGTLS_TEST_FAIL_STARTS;
  return { name: SUPERVISOR, binary: process.execPath, args: [...loader, main, `--home=${home}`], env, links: [], ports: [] };
}

export function supervisorState(layout: HomeLayout): ProcessState {
  return processState(layout, supervisorComponent(layout.home));
}

export class SupervisorClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: SupervisorMessage) => void; onLog?: (msg: string) => void }>();
  private closed = false;
  private watching = false;
  private readonly closeHandlers: (() => void)[] = [];

  private constructor(private readonly sock: Socket) {
    jsonLines(sock, (raw) => {
      const m = raw as SupervisorMessage;
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('event' in m) p.onLog?.(m.msg);
      else {
        this.pending.delete(m.id);
        p.resolve(m);
      }
    });
    sock.on('close', () => {
      this.closed = true;
      for (const [id, p] of this.pending) p.resolve({ id, ok: false, error: 'the supervisor process closed the connection (did it exit?)' });
      this.pending.clear();
      for (const h of this.closeHandlers) h();
    });
    sock.on('error', () => {});
    // The connection keeps the process alive only while it waits for an answer
    // or follows the log, so a caller that fails half-way is not held open by it.
    sock.unref();
  }

  static connect(path: string): Promise<SupervisorClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      sock.once('connect', () => {
        sock.removeListener('error', reject);
        resolve(new SupervisorClient(sock));
      });
      sock.once('error', reject);
    });
  }

  private request(req: WithoutId<SupervisorRequest>, onLog?: (msg: string) => void): Promise<SupervisorMessage & { ok: boolean }> {
    if (this.closed) return Promise.resolve({ id: 0, ok: false, error: 'the connection to the supervisor is closed' });
    const id = this.nextId++;
    this.sock.ref();
    return new Promise((resolve) => {
      this.pending.set(id, {
        resolve: (m) => {
          if (this.pending.size === 0 && !this.watching) this.sock.unref();
          resolve(m as SupervisorMessage & { ok: boolean });
        },
        onLog,
      });
      send(this.sock, { ...req, id } as SupervisorRequest);
    });
  }

  private static check(m: SupervisorMessage): { pid: number; restarts: number } {
    if ('ok' in m && m.ok) return { pid: m.pid ?? 0, restarts: m.restarts ?? 0 };
    throw new ComponentError('error' in m ? m.error : 'unexpected answer from the supervisor');
  }

  async ping(): Promise<number> {
    return SupervisorClient.check(await this.request({ op: 'ping' })).pid;
  }

  /** Gated start with the supervisor's bounded retries; progress lines go to log. */
  async start(c: Component, timeoutMs: number, log: (msg: string) => void): Promise<{ pid: number; restarts: number }> {
    return SupervisorClient.check(await this.request({ op: 'start', component: c, timeoutMs }, log));
  }

  async adopt(c: Component): Promise<{ pid: number; restarts: number }> {
    return SupervisorClient.check(await this.request({ op: 'adopt', component: c }));
  }

  /** Follows the supervisor's log (exits, restarts) until close(). */
  async watch(onLog: (msg: string) => void, onClose: () => void): Promise<void> {
    this.closeHandlers.push(onClose);
    this.watching = true;
    const id = this.nextId;
    SupervisorClient.check(await this.request({ op: 'watch' }, onLog));
    // Keep receiving this request's log events after its answer.
    this.pending.set(id, { resolve: () => {}, onLog });
  }

  close(): void {
    this.closeHandlers.length = 0;
    this.sock.end();
    this.sock.destroy();
  }
}

/** Connects to the cluster's supervisor, spawning it when none runs. */
export async function ensureSupervisor(layout: HomeLayout, log: (msg: string) => void = () => {}, timeoutMs = 30_000): Promise<SupervisorClient> {
  const comp = supervisorComponent(layout.home);
  const path = socketPath(layout.home);
  const st = processState(layout, comp);
  let pid: number;
  if (st.state === 'running') {
    pid = st.pid;
  } else {
    if (st.state === 'stale') log(`supervisor: ignoring stale pid file (${st.reason})`);
    const child = spawnComponent(layout, comp);
    child.unref();
    pid = child.pid!;
    log(`supervisor started (pid ${pid})`);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const client = await SupervisorClient.connect(path);
      await client.ping();
      return client;
    } catch (err) {
      if (!isAlive(pid)) {
        throw new ComponentError(`the supervisor exited at start. Last lines of ${logFile(layout, SUPERVISOR)}:\n${tailLog(layout, SUPERVISOR)}`);
      }
      if (Date.now() > deadline) {
        throw new ComponentError(`the supervisor (pid ${pid}) did not answer on ${path} within ${timeoutMs / 1000}s: ${(err as Error).message}`);
      }
      await sleep(100);
    }
  }
}

/** Connects to a running supervisor, or returns undefined. */
export async function connectSupervisor(layout: HomeLayout): Promise<SupervisorClient | undefined> {
  if (supervisorState(layout).state !== 'running') return undefined;
  try {
    return await SupervisorClient.connect(socketPath(layout.home));
  } catch {
    return undefined;
  }
}

/** SIGTERM to the supervisor, so it cancels pending restarts and exits; SIGKILL after the grace period. */
export function stopSupervisor(layout: HomeLayout, graceMs = 5000): Promise<'stopped' | 'not-running'> {
  return stopProcess(layout, supervisorComponent(layout.home), graceMs);
}
