// A TCP connection made from inside a pod's network namespace, as the kubelet
// makes probe and port-forward connections: socat entered into the namespace
// with nsenter relays between its stdio and the socket. The agent itself never
// leaves the host's namespace, so it holds no socket into a pod network.
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';

/**
 * How long socat keeps reading the server after the client side ended (its
 * -t); containerd's port-forward waits one second the same way.
 */
const HALF_CLOSE_SECONDS = 1;

export class NetnsConnection extends Duplex {
  private readonly child: ChildProcess;
  private connected = false;
  private stderr = '';

  constructor(netnsPath: string, host: string, port: number, connectTimeoutMs: number) {
    super();
    const target = host.includes(':') ? `TCP6:[${host}]:${port}` : `TCP4:${host}:${port}`;
    this.child = spawn(
      '/usr/bin/nsenter',
      [`--net=${netnsPath}`, '--', 'socat', '-d', '-d', '-t', String(HALF_CLOSE_SECONDS), '-', `${target},connect-timeout=${Math.max(connectTimeoutMs / 1000, 0.1)}`],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d: Buffer) => {
      if (!this.push(d)) this.child.stdout!.pause();
    });
    this.child.stdout!.on('end', () => this.push(null));
    this.child.stdin!.on('error', () => {}); // a closed relay shows up as its exit
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      if (this.stderr.length < 8192) this.stderr += s;
      if (!this.connected && this.stderr.includes('starting data transfer loop')) {
        this.connected = true;
        this.emit('connect');
      }
    });
    this.child.on('error', (err) => this.destroy(new Error(`socat in ${netnsPath}: ${err.message}`, { cause: err })));
    this.child.on('close', (code) => {
      if (!this.connected) {
        const why = /E (?:connect\([^)]*\)|.*?): ([^\n]+)/.exec(this.stderr)?.[1] ?? `socat exited ${code}`;
        this.destroy(Object.assign(new Error(`dial tcp ${host}:${port}: ${why.trim()}`), { code: /refused/i.test(why) ? 'ECONNREFUSED' : 'ECONNFAILED' }));
        return;
      }
      this.push(null);
    });
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.child.stdin!.writableEnded) return cb();
    this.child.stdin!.write(chunk, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin!.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    cb(err);
  }
}

/** Connects to host:port from inside the network namespace at netnsPath (e.g. /run/netns/<name>). */
export function dialInNetns(netnsPath: string, host: string, port: number, connectTimeoutMs = 5000): NetnsConnection {
  return new NetnsConnection(netnsPath, host, port, connectTimeoutMs);
}
