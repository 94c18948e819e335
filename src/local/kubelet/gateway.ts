// The two processes that connect the node namespace with the host, so that
// nothing outside the namespace ever sends to a non-loopback address:
//  - the node gateway runs inside the node namespace: an HTTP CONNECT proxy on
//    a unix socket (the API server's `cluster` egress, and the host's Service
//    mirrors) that dials only pod, Service and node addresses; and a TCP
//    listener on the API server's port that carries connections to the host
//    over another unix socket (kubelet, kube-proxy and pods reach the API
//    server as 10.244.0.1:<port> or, inside the namespace, 127.0.0.1:<port>).
//  - the host gateway serves that unix socket by dialling the API server on
//    host loopback, and mirrors every ClusterIP Service port on 127.S.c.d.
// Unix socket files are shared across network namespaces; no route is.
import { connect, createServer, isIPv4, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { hostMirror, inPodCidr, inServiceCidr, NODE_IP } from '../net/topology.ts';
import type { AddressPlan } from '../node/network.ts';

/** Only addresses that live inside the node namespace may be dialled through it. */
export function allowedTarget(host: string): boolean {
  return isIPv4(host) && (inPodCidr(host) || inServiceCidr(host) || host === NODE_IP || host === '127.0.0.1');
}

/** Parses `CONNECT host:port HTTP/1.1`; undefined when the request is anything else. */
export function parseConnect(head: string): { host: string; port: number } | undefined {
  const m = /^CONNECT (\S+):(\d{1,5}) HTTP\/1\.[01]\r\n/.exec(head);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1]!.replace(/^\[|\]$/g, ''), port } : undefined;
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

function listenUnix(path: string, onConn: (s: Socket) => void): Server {
  rmSync(path, { force: true });
  const srv = createServer(onConn);
  srv.listen(path);
  return srv;
}

/** The CONNECT proxy (inside the node namespace). */
export function serveEgress(sockPath: string): Server {
  return listenUnix(sockPath, (client) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 8192) client.destroy();
        return;
      }
      client.off('data', onData);
      client.pause();
      const target = parseConnect(head);
      if (!target || !allowedTarget(target.host)) {
        client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      const upstream = connect(target.port, target.host, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        if (rest.length > 0) upstream.write(rest);
        pipeBoth(client, upstream);
        client.resume();
      });
      upstream.once('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    };
    client.on('data', onData);
    client.on('error', () => client.destroy());
  });
}

/** TCP listener (inside the namespace) → unix socket served by the host gateway. */
export function serveTcpToUnix(port: number, host: string, sockPath: string): Server {
  const srv = createServer((c) => pipeBoth(c, connect(sockPath)));
  srv.listen(port, host);
  return srv;
}

/** Unix socket → TCP on host loopback (the API server). */
export function serveUnixToTcp(sockPath: string, host: string, port: number): Server {
  return listenUnix(sockPath, (c) => pipeBoth(c, connect(port, host)));
}

/** Opens a tunnel to host:port inside the node namespace through the egress proxy. */
export function dialThroughEgress(egressSock: string, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(egressSock);
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      if (!/^HTTP\/1\.[01] 200/.test(buf)) {
        s.destroy();
        reject(new Error(`egress proxy refused ${host}:${port}: ${buf.split('\r\n')[0]}`));
        return;
      }
      const rest = buf.slice(end + 4);
      if (rest.length > 0) s.unshift(Buffer.from(rest, 'latin1'));
      resolve(s);
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  });
}

export interface MirrorPort {
  /** Host loopback address and port. */
  listen: { host: string; port: number };
  /** ClusterIP and port inside the node namespace. */
  target: { host: string; port: number };
}

export const mirrorKey = (m: MirrorPort) => `${m.listen.host}:${m.listen.port}`;

/** Keeps one loopback listener per mirrored Service port; `sync` opens new ones and closes gone ones. */
export class ServiceMirrors {
  private readonly servers = new Map<string, { server: Server; target: string }>();
  constructor(private readonly egressSock: string, private readonly log: (m: string) => void = () => {}) {}

  sync(wanted: MirrorPort[]): void {
    const want = new Map(wanted.map((m) => [mirrorKey(m), m]));
    for (const [key, s] of this.servers) {
      const w = want.get(key);
      if (!w || `${w.target.host}:${w.target.port}` !== s.target) {
        s.server.close();
        this.servers.delete(key);
      }
    }
    for (const [key, m] of want) {
      if (this.servers.has(key)) continue;
      const server = createServer((c) => {
        c.pause();
        dialThroughEgress(this.egressSock, m.target.host, m.target.port).then(
          (up) => {
            pipeBoth(c, up);
            c.resume();
          },
          () => c.destroy(),
        );
      });
      server.on('error', (err) => this.log(`mirror ${key} → ${m.target.host}:${m.target.port}: ${err.message}`));
      server.listen(m.listen.port, m.listen.host);
      this.servers.set(key, { server, target: `${m.target.host}:${m.target.port}` });
    }
  }

  close(): void {
    for (const s of this.servers.values()) s.server.close();
    this.servers.clear();
  }
}

/** Every TCP port of every ClusterIP Service, on its loopback mirror (pure). */
export function mirrorsFor(services: V1Service[], plan: AddressPlan): MirrorPort[] {
  const out: MirrorPort[] = [];
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    const mirror = ip ? hostMirror(ip, plan) : undefined;
    if (!ip || !mirror) continue;
    for (const p of s.spec?.ports ?? []) {
      if ((p.protocol ?? 'TCP') !== 'TCP') continue;
      out.push({ listen: { host: mirror, port: p.port }, target: { host: ip, port: p.port } });
    }
  }
  return out;
}

/** Every declared TCP container port of every running pod with a pod-network IP, on its loopback mirror 127.P.a.b (pure). */
export function podMirrorsFor(pods: V1Pod[], plan: AddressPlan): MirrorPort[] {
  const out: MirrorPort[] = [];
  for (const p of pods) {
    const ip = p.status?.podIP;
    if (!ip || p.spec?.hostNetwork || p.status?.phase !== 'Running') continue;
    const mirror = hostMirror(ip, plan);
    if (!mirror) continue;
    for (const c of p.spec?.containers ?? []) {
      for (const port of c.ports ?? []) {
        if ((port.protocol ?? 'TCP') !== 'TCP') continue;
        out.push({ listen: { host: mirror, port: port.containerPort }, target: { host: ip, port: port.containerPort } });
      }
    }
  }
  return out;
}
