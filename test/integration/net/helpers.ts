// Helpers for the network tests: servers started inside namespaces with
// `ip netns exec`, CONNECT through a unix socket, small TCP conversations,
// and a snapshot of the host's network state to prove nothing changed.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from '../../helpers/exec.ts';

/** Starts a fixture server (fixtures/<name>) inside a namespace; resolves once it listens (bounded). */
export async function startNsServer(netns: string, env: Record<string, string>, name = 'ns-server.ts'): Promise<ChildProcess> {
  const fixture = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '--import', import.meta.resolve('tsx'), fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server in ${netns} did not start within 20 s`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`server in ${netns} exited (${code})`));
    });
  });
  return child;
}

export function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Sends CONNECT over the unix socket; resolves with the status line and, on 200, the tunnel. */
export function connectThrough(socketPath: string, target: string): Promise<{ status: number; body: string; socket?: Socket }> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => s.destroy(new Error(`CONNECT ${target}: no answer in 15 s`)), 15_000);
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.write(`CONNECT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString())?.[1]);
      if (status === 200) {
        clearTimeout(t);
        s.off('data', onData);
        // Like kube-apiserver: nothing may follow the 200 before the client speaks.
        if (buf.length > end + 4) return reject(new Error(`unexpected ${buf.length - end - 4} bytes after the CONNECT answer`));
        resolve({ status, body: '', socket: s });
        return;
      }
      s.on('end', () => {
        clearTimeout(t);
        resolve({ status, body: buf.subarray(end + 4).toString() });
      });
    };
    s.on('data', onData);
  });
}

/** A plain HTTP/1.1 GET on an open connection; returns the body. */
export function httpOver(s: Socket, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => s.destroy(new Error('HTTP answer timed out')), 15_000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (buf += d));
    s.on('error', reject);
    // The server closes after its answer (Connection: close); a half-open client socket only sees 'end'.
    s.on('end', () => {
      clearTimeout(t);
      s.destroy();
      const i = buf.indexOf('\r\n\r\n');
      if (!/^HTTP\/1\.1 200/.test(buf) || i < 0) return reject(new Error(`bad HTTP answer: ${buf.slice(0, 200)}`));
      resolve(buf.slice(i + 4));
    });
    s.write(`GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`);
  });
}

export function dial(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** The fixture's TCP exchange: greeting first, echo, then the byte count after our half-close. */
export function conversation(s: Socket, send = 'abc'): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => s.destroy(new Error(`conversation timed out, got ${JSON.stringify(buf)}`)), 15_000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      if (buf.startsWith('hello') && buf.includes('\n') && !s.writableEnded) s.end(send);
    });
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(t);
      resolve(buf);
    });
  });
}

/** GET over the gateway's control socket. */
export function control(socketPath: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('control call timed out')));
    req.end();
  });
}

export async function inNetns(netns: string, cmd: string[]): Promise<string> {
  const r = await run('ip', ['netns', 'exec', netns, ...cmd], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`${cmd.join(' ')} in ${netns} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export interface HostNetState {
  links: string[];
  addrs: string[];
  routes: string[];
  ipForward: string;
}

/** What the host's network looks like: `down` must leave it exactly so. */
export async function hostNetState(): Promise<HostNetState> {
  const lines = async (args: string[]) => (await run('ip', args)).stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
  return {
    links: (await lines(['-o', 'link', 'show'])).map((l) => l.replace(/^\d+: /, '').split(' ')[0]!),
    addrs: await lines(['-br', 'addr']),
    routes: await lines(['route', 'show', 'table', 'all']),
    ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(),
  };
}

export function netnsMountsFor(prefix: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`/run/netns/${prefix}`));
}
