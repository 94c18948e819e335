// The kubelet API that the API server calls for `kubectl logs`, `exec` and
// `port-forward`. HTTPS with a serving certificate from the cluster CA; only
// client certificates from that CA in the system:masters group (the API
// server's kubelet client) are let in.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { createReadStream, readFileSync, statSync, watch, openSync, readSync, closeSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import type { PodRunner } from './pod-runner.ts';
import { handleExec, handlePortForward } from './streaming.ts';

/** What the kubelet API needs from the node (the agent provides it). */
export interface KubeletBackend {
  runnerFor(namespace: string, name: string): PodRunner | undefined;
  /** Pods with the addresses and readiness this node knows now. */
  livePods(): V1Pod[];
  /** A connection to a pod's port as port-forward makes it: localhost inside the pod's network. */
  portForwardDial(r: PodRunner, port: number): Duplex;
  log(msg: string): void;
}

export interface KubeletApiOptions {
  port: number;
  cert: string;
  key: string;
  clientCa: string;
}

function authorized(sock: TLSSocket): boolean {
  if (!sock.authorized) return false;
  const peer = sock.getPeerCertificate();
  const o = peer?.subject?.O;
  const orgs = Array.isArray(o) ? o : o ? [o] : [];
  return orgs.includes('system:masters');
}

/** Byte offset where the last `lines` lines of a file start. */
export function tailStart(file: string, lines: number): number {
  const size = statSync(file).size;
  if (lines <= 0) return size;
  const from = Math.max(0, size - 4 * 1024 * 1024);
  const buf = Buffer.alloc(size - from);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  let i = buf.length - 1;
  if (buf[i] === 0x0a) i--;
  let count = 0;
  for (; i >= 0; i--) if (buf[i] === 0x0a && ++count === lines) return from + i + 1;
  return from;
}

export class KubeletApi {
  private server?: Server;
  private readonly sockets = new Set<Duplex>();

  constructor(
    private readonly agent: KubeletBackend,
    private readonly opts: KubeletApiOptions,
  ) {}

  listen(): Promise<void> {
    this.server = createServer({
      cert: readFileSync(this.opts.cert),
      key: readFileSync(this.opts.key),
      ca: readFileSync(this.opts.clientCa),
      requestCert: true,
      rejectUnauthorized: true,
    });
    this.server.on('request', (req, res) => void this.route(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ host: '127.0.0.1', port: this.opts.port }, () => resolve());
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private pathParts(req: IncomingMessage): { parts: string[]; q: URLSearchParams } {
    const u = new URL(req.url ?? '/', 'https://node');
    return { parts: u.pathname.split('/').filter(Boolean).map(decodeURIComponent), q: u.searchParams };
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!authorized(socket as TLSSocket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const { parts, q } = this.pathParts(req);
    const r = this.agent.runnerFor(parts[1] ?? '', parts[2] ?? '');
    const fail = (code: number, msg: string): void => void socket.end(`HTTP/1.1 ${code} Error\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg)}\r\n\r\n${msg}`);
    if (!r) return fail(404, `pod ${parts[1]}/${parts[2]} not found on this node`);
    if (parts[0] === 'exec' || parts[0] === 'attach') {
      const c = r.runningContainer(parts[3]);
      if (!c) return fail(400, `container ${parts[3] ?? ''} is not running`);
      const command = q.getAll('command');
      if (command.length === 0) return fail(400, 'you must specify at least 1 command');
      const { file, args, env } = r.execArgv(c, command);
      const tty = q.get('tty') === 'true' || q.get('tty') === '1';
      handleExec(req, socket, head, { file, args, env, command, tty, stdin: ['1', 'true'].includes(q.get('input') ?? '') }, (m) => this.agent.log(m));
      return;
    }
    if (parts[0] === 'portForward') {
      if (!r.ip) return fail(400, 'pod has no address yet');
      handlePortForward(req, socket, head, (port) => this.agent.portForwardDial(r, port), (m) => this.agent.log(m));
      return;
    }
    fail(404, 'not found');
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!authorized(req.socket as TLSSocket)) {
      res.writeHead(401).end('Unauthorized');
      return;
    }
    const { parts, q } = this.pathParts(req);
    if (parts[0] === 'healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    if (parts[0] === 'containerLogs' && parts.length >= 3) {
      const r = this.agent.runnerFor(parts[1]!, parts[2]!);
      if (!r) {
        res.writeHead(404).end(`pod ${parts[1]}/${parts[2]} not found on this node`);
        return;
      }
      const previous = q.get('previous') === 'true';
      const file = r.logFile(parts[3], previous);
      if (!file) {
        res.writeHead(400).end(previous ? `previous terminated container "${parts[3]}" in pod "${parts[2]}" not found` : `container "${parts[3]}" in pod "${parts[2]}" has no log yet`);
        return;
      }
      const tail = q.get('tailLines');
      const start = tail !== null ? tailStart(file, Number(tail)) : 0;
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      if (q.get('follow') !== 'true') {
        createReadStream(file, { start }).pipe(res);
        return;
      }
      this.follow(file, start, res, () => r.logFile(parts[3], false) === file && !r.done());
      return;
    }
    if (parts[0] === 'pods') {
      const pods = this.agent.livePods();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', items: pods }));
      return;
    }
    res.writeHead(404).end('not found');
  }

  /** Streams a log file as it grows, until the client leaves or the container's run ends. */
  private follow(file: string, start: number, res: ServerResponse, current: () => boolean): void {
    let pos = start;
    let busy = false;
    const pump = () => {
      if (busy) return;
      busy = true;
      const size = statSync(file).size;
      if (size <= pos) {
        busy = false;
        return;
      }
      const s = createReadStream(file, { start: pos, end: size - 1 });
      pos = size;
      s.on('data', (d) => res.write(d));
      s.on('end', () => {
        busy = false;
      });
    };
    pump();
    const w = watch(file, () => pump());
    const t = setInterval(() => {
      pump();
      if (!current()) finish();
    }, 1000);
    const finish = () => {
      clearInterval(t);
      w.close();
      res.end();
    };
    res.on('close', finish);
  }
}
