// exec and port-forward over SPDY, as a kubelet serves them: the API server
// upgrades the connection, then opens one stream per channel (error, stdin,
// stdout, stderr, resize for exec; a data and an error stream per forwarded
// connection for port-forward). kubectl may talk WebSocket to the API server;
// the API server always speaks SPDY to kubelets.
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdyConnection, type SpdyStream } from './spdy.ts';
import { shq } from './launch.ts';

/**
 * Output of an exec is held this long after the streams are open.
 * `kubectl exec` 1.32 talks WebSocket (v5.channel.k8s.io) to the API server,
 * which answers the upgrade, sends an empty message on the lowest output
 * channel ("connected"), and only then dials the kubelet over SPDY. kubectl's
 * client (client-go tools/remotecommand/websocket.go) starts its reader
 * goroutine before it has created its stream objects, so a message that
 * arrives in between is dropped with "websocket.go:296] Unknown stream id 1,
 * discarding message" (fixed in kubernetes#131203, kubectl 1.33). In practice
 * the dropped message is that empty one: harmless, and not something a node
 * can prevent. Real output comes later, after the API server reached the node;
 * a runtime takes tens of milliseconds to start an exec'd process, ours a few,
 * so the first output is held for as long to keep it clear of the race.
 */
export const EXEC_OUTPUT_HOLD_MS = 50;

function upgradeTo(socket: Duplex, head: Buffer, protocol: string): SpdyConnection {
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      (protocol ? `X-Stream-Protocol-Version: ${protocol}\r\n` : '') +
      '\r\n',
  );
  const conn = new SpdyConnection(socket);
  if (head.length) socket.unshift(head);
  return conn;
}

function offered(req: IncomingMessage): string[] {
  const h = req.headers['x-stream-protocol-version'];
  return (Array.isArray(h) ? h : h ? [h] : []).flatMap((v) => v.split(',')).map((v) => v.trim());
}

export interface ExecRequest {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The command as the client asked for it (for messages). */
  command: string[];
  tty: boolean;
  stdin: boolean;
}

const truthy = (v: string | null) => ['1', 'true'].includes(v ?? '');

export function handleExec(req: IncomingMessage, socket: Duplex, head: Buffer, ex: ExecRequest, log: (m: string) => void, holdMs = EXEC_OUTPUT_HOLD_MS): void {
  const protos = offered(req);
  const proto = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'].find((p) => protos.includes(p)) ?? '';
  const u = new URL(req.url ?? '/', 'https://node');
  const want = { stdin: truthy(u.searchParams.get('input')), stdout: truthy(u.searchParams.get('output')), stderr: truthy(u.searchParams.get('error')) && !ex.tty };
  const conn = upgradeTo(socket, head, proto);
  const streams: Record<string, SpdyStream> = {};
  let started = false;
  // The resize stream (tty) is optional here: a pty from `script` keeps its first size.
  const needed = ['error', ...(want.stdin ? ['stdin'] : []), ...(want.stdout ? ['stdout'] : []), ...(want.stderr ? ['stderr'] : [])];
  const timeout = setTimeout(() => {
    if (!started) {
      log('exec: the client did not open its streams in time');
      conn.close();
    }
  }, 30_000);
  // stdin that arrives before the process exists is kept for it.
  const early: Buffer[] = [];
  let earlyEnd = false;
  conn.on('stream', (s: SpdyStream) => {
    conn.reply(s);
    const type = s.headers.streamtype ?? '';
    streams[type] = s;
    if (type === 'stdin' && !started) {
      s.on('data', (d: Buffer) => !started && early.push(d));
      s.on('end', () => !started && (earlyEnd = true));
    }
    if (!started && needed.every((n) => streams[n])) {
      started = true;
      clearTimeout(timeout);
      run();
    }
  });
  const run = () => {
    // A pty for -t: util-linux `script` gives the command a terminal without native code.
    const file = ex.tty ? '/usr/bin/script' : ex.file;
    const args = ex.tty ? ['-qefc', [ex.file, ...ex.args].map(shq).join(' '), '/dev/null'] : ex.args;
    const child = spawn(file, args, { env: { ...ex.env, ...(ex.tty ? { TERM: 'xterm' } : {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
    let holding = true;
    const held: [SpdyStream | undefined, Buffer][] = [];
    let finishing: (() => void) | undefined;
    setTimeout(() => {
      holding = false;
      for (const [s, d] of held.splice(0)) s?.write(d);
      finishing?.();
    }, holdMs);
    const out = (s: SpdyStream | undefined, d: Buffer) => (holding ? held.push([s, d]) : s?.write(d));
    child.stdout.on('data', (d: Buffer) => out(streams.stdout, d));
    child.stderr.on('data', (d: Buffer) => out(streams.stderr ?? streams.stdout, d));
    const stdin = streams.stdin;
    if (stdin) {
      for (const d of early.splice(0)) child.stdin.write(d);
      if (earlyEnd) child.stdin.end();
      stdin.on('data', (d: Buffer) => child.stdin.write(d));
      stdin.on('end', () => child.stdin.end());
    } else child.stdin.end();
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    conn.on('close', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let done = false;
    const finish = (code: number, message: string) => {
      if (done) return;
      if (holding) {
        finishing = () => finish(code, message);
        return;
      }
      done = true;
      const status =
        code === 0
          ? { metadata: {}, status: 'Success' }
          : {
              metadata: {},
              status: 'Failure',
              message: message || `command terminated with non-zero exit code: error executing command [${ex.command.join(' ')}], exit code ${code}`,
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
            };
      streams.error?.write(Buffer.from(JSON.stringify(status)));
      for (const s of Object.values(streams)) s.end();
      conn.close();
    };
    child.on('error', (err) => finish(126, err.message));
    child.on('close', (code, signal) => finish(code ?? 128, signal ? `killed by ${signal}` : ''));
  };
}

/**
 * port-forward: one upstream connection per data/error stream pair, made by
 * `dial` (inside the pod's network namespace, to localhost, as the kubelet
 * does). A connection that cannot be made is reported on its error stream,
 * as a kubelet reports it. One that ends, whichever side ends it and however
 * (FIN or RST), ends only that stream pair: kubectl 1.29+ closes the whole
 * port-forward when anything arrives on an error stream, which is what made
 * `kubectl port-forward` die with "lost connection to pod" after `pgbench -i`
 * over TLS (PostgreSQL closes with the client's TLS close_notify still unread,
 * so the kernel answers with a reset).
 */
export function handlePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, dial: (port: number) => Duplex, log: (m: string) => void): void {
  const conn = upgradeTo(socket, head, offered(req).includes('portforward.k8s.io') ? 'portforward.k8s.io' : '');
  const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream }>();
  const open = new Set<Duplex>();
  conn.on('close', () => {
    for (const up of open) up.destroy();
  });
  conn.on('stream', (s: SpdyStream) => {
    conn.reply(s);
    const id = s.headers.requestid ?? '0';
    const p = pairs.get(id) ?? {};
    if (s.headers.streamtype === 'error') p.error = s;
    else if (s.headers.streamtype === 'data') p.data = s;
    pairs.set(id, p);
    if (!p.data || !p.error) return;
    pairs.delete(id);
    forward(Number(s.headers.port), p.data, p.error);
  });
  const forward = (port: number, data: SpdyStream, error: SpdyStream) => {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      error.write(Buffer.from(`invalid port ${port}`));
      error.end();
      data.end();
      return;
    }
    let up: Duplex;
    try {
      up = dial(port);
    } catch (err) {
      error.write(Buffer.from(`an error occurred forwarding ${port} -> ${port}: ${err instanceof Error ? err.message : String(err)}`));
      error.end();
      data.end();
      return;
    }
    open.add(up);
    let connected = false;
    up.on('connect', () => (connected = true));
    up.on('data', (d: Buffer) => data.write(d));
    up.on('end', () => data.end());
    data.on('data', (d: Buffer) => {
      if (!up.destroyed) up.write(d);
    });
    data.on('end', () => {
      if (!up.destroyed) up.end();
    });
    // The client went away (kubectl resets the stream when its local connection fails): drop ours quietly.
    data.on('reset', () => up.destroy());
    up.on('error', (err: Error) => {
      if (connected) return; // reset or broken pipe on an established connection: it just ends
      log(`port-forward to port ${port}: ${err.message}`);
      error.write(Buffer.from(`an error occurred forwarding ${port} -> ${port}: ${err.message}`));
    });
    up.on('close', () => {
      open.delete(up);
      data.end();
      error.end();
    });
  };
}
