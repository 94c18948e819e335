// The per-cluster supervisor process: one ProcessSupervisor behind a unix
// socket in the home (mode 0600), so `pgtls up` asks it to start components
// (it is their parent, so it reads their exit status) and a foreground `up`
// follows its log. It stops restarting and exits on SIGTERM (`pgtls down` sends
// it first), or by itself when the home is deleted.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Component } from './component.ts';
import { parseFailStarts } from './backoff.ts';
import { ProcessSupervisor, type SupervisorHome } from './process-supervisor.ts';

export type SupervisorRequest =
  | { id: number; op: 'ping' }
  | { id: number; op: 'start'; component: Component; timeoutMs: number }
  | { id: number; op: 'adopt'; component: Component }
  /** Streams the supervisor's log lines as events until the connection closes. */
  | { id: number; op: 'watch' };

export type SupervisorMessage =
  | { id: number; ok: true; pid?: number; restarts?: number }
  | { id: number; ok: false; error: string }
  | { id: number; event: 'log'; msg: string };

/** Unix socket paths are limited to 107 bytes. */
export const MAX_SOCKET_PATH = 107;

export function socketPath(home: string): string {
  return join(home, 'supervisor.sock');
}

/** Newline-delimited JSON both ways. */
export function jsonLines(sock: Socket, onMessage: (msg: unknown) => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() === '') continue;
      try {
        onMessage(JSON.parse(line));
      } catch {
        sock.destroy();
        return;
      }
    }
  });
}

export function send(sock: Socket, msg: SupervisorMessage | SupervisorRequest): void {
  if (!sock.destroyed && sock.writable) sock.write(`${JSON.stringify(msg)}\n`);
}

/** Serves `sup` on the socket; returns the listening server. */
export async function serveSupervisor(sup: ProcessSupervisor, path: string): Promise<Server> {
  if (path.length > MAX_SOCKET_PATH) throw new Error(`socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter PGTLS_HOME`);
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    sock.on('error', () => {});
    jsonLines(sock, (raw) => void handle(sup, sock, raw as SupervisorRequest));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}

async function handle(sup: ProcessSupervisor, sock: Socket, req: SupervisorRequest): Promise<void> {
  const id = req.id;
  try {
    switch (req.op) {
      case 'ping':
        send(sock, { id, ok: true, pid: process.pid });
        return;
      case 'start': {
        const r = await sup.start(req.component, req.timeoutMs, (msg) => send(sock, { id, event: 'log', msg }));
        send(sock, { id, ok: true, ...r });
        return;
      }
      case 'adopt':
        send(sock, { id, ok: true, ...sup.adopt(req.component) });
        return;
      case 'watch': {
        const forward = (msg: string) => send(sock, { id, event: 'log', msg });
        sup.on('log', forward);
        sock.once('close', () => sup.off('log', forward));
        send(sock, { id, ok: true, pid: process.pid });
        return;
      }
      default:
        send(sock, { id, ok: false, error: `unknown op ${(req as { op?: unknown }).op}` });
    }
  } catch (err) {
    send(sock, { id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
}

/** The supervisor process's main: runs until SIGTERM or until the home is gone. */
export async function runSupervisorDaemon(dirs: SupervisorHome, clusterFile: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const stamp = () => new Date().toISOString();
  const log = (msg: string) => process.stdout.write(`${stamp()} ${msg}\n`);
  const sup = new ProcessSupervisor(dirs, { failStarts: parseFailStarts(env.PGTLS_TEST_FAIL_STARTS) });
  sup.on('log', log);
  const path = socketPath(dirs.home);
  const server = await serveSupervisor(sup, path);
  log(`supervisor ${process.pid} serving ${path}`);
  let done = false;
  const stop = (why: string) => {
    if (done) return;
    done = true;
    clearInterval(homeCheck);
    sup.shutdown();
    log(`stopping (${why}); nothing is restarted any more`);
    server.close();
    rmSync(path, { force: true });
    // Connections (a foreground `up` watching) would keep the event loop alive.
    setImmediate(() => process.exit(0));
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => stop(sig));
  // `down --purge` deletes the home: whatever we would restart is gone with it.
  const homeCheck = setInterval(() => {
    if (!existsSync(clusterFile)) stop(`${clusterFile} is gone`);
  }, 2000);
}
