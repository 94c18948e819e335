// exec and port-forward over SPDY, as a kubelet serves them: the API server
// upgrades the connection, then opens one stream per channel (error, stdin,
// stdout, stderr, resize for exec; a data and an error stream per forwarded
// connection for port-forward).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdyConnection, type SpdyStream } from './spdy.ts';
import { shq } from './launch.ts';
import { isLoopback } from './network.ts';

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
  tty: boolean;
  stdin: boolean;
}

export function handleExec(req: IncomingMessage, socket: Duplex, head: Buffer, ex: ExecRequest, log: (m: string) => void): void {
  const protos = offered(req);
  const proto = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'].find((p) => protos.includes(p)) ?? '';
  const u = new URL(req.url ?? '/', 'https://node');
  const want = {
    stdin: ['1', 'true'].includes(u.searchParams.get('input') ?? ''),
    stdout: ['1', 'true'].includes(u.searchParams.get('output') ?? ''),
    stderr: ['1', 'true'].includes(u.searchParams.get('error') ?? '') && !ex.tty,
  };
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
  conn.on('stream', (s: SpdyStream) => {
    conn.reply(s);
    streams[s.headers.streamtype ?? ''] = s;
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
    child.stdout.on('data', (d: Buffer) => streams.stdout?.write(d));
    child.stderr.on('data', (d: Buffer) => (streams.stderr ?? streams.stdout)?.write(d));
    const stdin = streams.stdin;
    if (stdin) {
      stdin.on('data', (d: Buffer) => child.stdin.write(d));
      stdin.on('end', () => child.stdin.end());
    } else child.stdin.end();
    child.stdin.on('error', () => {});
    conn.on('close', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('error', (err) => finish(126, err.message));
    child.on('close', (code, signal) => finish(code ?? 128, signal ? `killed by ${signal}` : ''));
    let done = false;
    const finish = (code: number, message: string) => {
      if (done) return;
      done = true;
      const status =
        code === 0
          ? { metadata: {}, status: 'Success' }
          : {
              metadata: {},
              status: 'Failure',
              message: message || `command terminated with non-zero exit code: error executing command [${ex.args.slice(-1).join(' ')}], exit code ${code}`,
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
            };
      streams.error?.write(Buffer.from(JSON.stringify(status)));
      for (const s of Object.values(streams)) s.end();
      conn.close();
    };
  };
}

export function handlePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, podIP: string, log: (m: string) => void): void {
  const conn = upgradeTo(socket, head, offered(req).includes('portforward.k8s.io') ? 'portforward.k8s.io' : '');
  const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream }>();
  conn.on('stream', (s: SpdyStream) => {
    conn.reply(s);
    const id = s.headers.requestid ?? '0';
    const p = pairs.get(id) ?? {};
    if (s.headers.streamtype === 'error') p.error = s;
    else if (s.headers.streamtype === 'data') p.data = s;
    pairs.set(id, p);
    if (!p.data || !p.error) return;
    pairs.delete(id);
    const port = Number(s.headers.port);
    const data = p.data;
    const error = p.error;
    if (!isLoopback(podIP) || !Number.isInteger(port)) {
      error.write(Buffer.from(`cannot forward to ${podIP}:${port}`));
      error.end();
      data.end();
      return;
    }
    const up = connect({ host: podIP, port });
    up.on('data', (d: Buffer) => data.write(d));
    data.on('data', (d: Buffer) => up.write(d));
    data.on('end', () => up.end());
    data.on('reset', () => up.destroy());
    up.on('end', () => data.end());
    up.on('close', () => {
      data.end();
      error.end();
    });
    up.on('error', (err) => {
      log(`port-forward ${podIP}:${port}: ${err.message}`);
      error.write(Buffer.from(`an error occurred forwarding ${port} -> ${port}: ${err.message}`));
    });
    conn.on('close', () => up.destroy());
  });
}
