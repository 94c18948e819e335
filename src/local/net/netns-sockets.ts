// Sockets inside a network namespace, for a process that stays on the host:
// a small worker runs in the namespace (nsenter --net) and hands back
// connected and listening sockets over Node's IPC channel (SCM_RIGHTS). The
// gateway then relays on the host side; a listening socket it received keeps
// serving even while the worker is being restarted. This module and the
// worker are the only code that makes sockets in the node namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

type Reply = { id: number; error?: string; message?: string } | { op: 'ready'; pid: number } | { op: 'accepted'; id: number };

interface Pending {
  resolve(h: Socket | Server | undefined): void;
  reject(e: Error): void;
}

export class NetnsError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

type Transform = (src: string, opts: { loader: 'ts'; format: 'esm'; target: string }) => { code: string };

/**
 * How to start the worker: built JavaScript as it is; from the TypeScript
 * sources, the worker (type annotations only) is stripped by esbuild, the
 * transformer tsx itself uses, and run with `node -e`: no loader in the
 * worker saves ~35 MiB and ~0.5 s per start. tsx as the loader otherwise.
 */
function workerCommand(): string[] {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return [process.execPath, fileURLToPath(new URL('./netns-worker.js', self))];
  const worker = fileURLToPath(new URL('./netns-worker.ts', self));
  const tsx = import.meta.resolve('tsx');
  try {
    const { transformSync } = createRequire(tsx)('esbuild') as { transformSync: Transform };
    const code = transformSync(readFileSync(worker, 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' }).code;
    return [process.execPath, '--input-type=module', '-e', code];
  } catch {
    return [process.execPath, '--import', tsx, worker];
  }
}

export const netnsPath = (name: string) => `/run/netns/${name}`;

export interface NetnsSocketsOptions {
  /** A namespace file: /run/netns/<name> or /proc/<pid>/ns/net. */
  path: string;
  dialTimeoutMs?: number;
  log?: (msg: string) => void;
  /** Restart the worker when it dies (the gateway does; tests may not). */
  respawn?: boolean;
}

export class NetnsSockets {
  private child?: ChildProcess;
  private ready = false;
  private closed = false;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly servers = new Map<number, Server>();
  private starting?: Promise<void>;
  private restarts = 0;
  private readonly log: (msg: string) => void;
  readonly dialTimeoutMs: number;

  constructor(private readonly opts: NetnsSocketsOptions) {
    this.log = opts.log ?? (() => {});
    this.dialTimeoutMs = opts.dialTimeoutMs ?? 10_000;
  }

  get alive(): boolean {
    return this.ready && !this.closed;
  }

  get workerPid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    this.starting ??= this.spawnWorker().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private spawnWorker(): Promise<void> {
    if (!existsSync(this.opts.path)) return Promise.reject(new NetnsError(`network namespace ${this.opts.path} does not exist`, 'ENOENT'));
    const [node, ...args] = workerCommand();
    const child = spawn('nsenter', [`--net=${this.opts.path}`, '--', node!, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    return new Promise<void>((resolve, reject) => {
      const failStart = (err: Error) => reject(new NetnsError(`worker in ${this.opts.path} did not start: ${err.message}`, 'EWORKER'));
      child.once('error', failStart);
      child.on('message', (m: Reply, handle?: Socket | Server) => {
        if ('op' in m && m.op === 'ready') {
          this.ready = true;
          child.off('error', failStart);
          resolve();
          return;
        }
        if ('op' in m && m.op === 'accepted') {
          const srv = this.servers.get(m.id);
          if (srv && handle) srv.emit('connection', handle);
          else (handle as Socket | undefined)?.destroy();
          return;
        }
        this.settle(m as { id: number; error?: string; message?: string }, handle);
      });
      child.once('exit', (code, signal) => {
        this.ready = false;
        this.child = undefined;
        for (const [, p] of this.pending) p.reject(new NetnsError(`worker in ${this.opts.path} exited`, 'EWORKER'));
        this.pending.clear();
        reject(new NetnsError(`worker in ${this.opts.path} exited (${signal ?? code}) before it was ready`, 'EWORKER'));
        if (this.closed) return;
        this.log(`netns worker exited (${signal ?? code})`);
        if (this.opts.respawn) {
          const delay = Math.min(10_000, 250 * 2 ** Math.min(this.restarts++, 6));
          setTimeout(() => {
            if (!this.closed) this.start().catch((e: Error) => this.log(`netns worker restart failed: ${e.message}`));
          }, delay).unref();
        }
      });
    });
  }

  private settle(m: { id: number; error?: string; message?: string }, handle?: Socket | Server): void {
    const p = this.pending.get(m.id);
    if (!p) {
      // Nobody waits for it any more: close what arrived.
      if (handle && 'destroy' in handle) handle.destroy();
      else handle?.close();
      return;
    }
    this.pending.delete(m.id);
    if (m.error) p.reject(new NetnsError(m.message ?? m.error, m.error));
    else p.resolve(handle);
  }

  private call(msg: Record<string, unknown>): Promise<{ id: number; handle: Socket | Server | undefined }> {
    if (!this.alive || !this.child) return Promise.reject(new NetnsError(`no worker in ${this.opts.path}`, 'EWORKER'));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (handle) => resolve({ id, handle }), reject });
      this.child!.send({ ...msg, id }, (err) => {
        if (err) {
          this.pending.delete(id);
          reject(new NetnsError(`worker in ${this.opts.path}: ${err.message}`, 'EWORKER'));
        }
      });
    });
  }

  /** A socket connected to host:port from inside the namespace. */
  async dial(host: string, port: number, timeoutMs = this.dialTimeoutMs): Promise<Socket> {
    const { handle } = await this.call({ op: 'dial', host, port, timeoutMs });
    if (!handle) throw new NetnsError(`worker returned no socket for ${host}:${port}`, 'EIO');
    return handle as Socket;
  }

  /** A server listening on host:port inside the namespace; connections are accepted here, on the host side. */
  async listen(host: string, port: number): Promise<Server> {
    const { id, handle } = await this.call({ op: 'listen', host, port });
    if (!handle) throw new NetnsError(`worker returned no listener for ${host}:${port}`, 'EIO');
    const srv = handle as Server;
    this.servers.set(id, srv);
    srv.once('close', () => this.servers.delete(id));
    return srv;
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // Closing the channel makes the worker exit on its own; a signal only if it does not.
    if (child.connected) child.disconnect();
    const t = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(t);
  }
}
