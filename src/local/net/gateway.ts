// The gateway between the host and a cluster's node namespace. On a unix
// socket it is the API server's egress (HTTP CONNECT: loopback targets dialled
// on the host, the pod and Service networks inside the node namespace, the
// rest refused) and answers /healthz, /status and on-demand mirror requests.
// Inside the namespace it serves every Service ClusterIP:port (and the node
// address's forward to the API server); on host loopback it mirrors pod and
// Service addresses. All relaying happens in this process; the namespace side
// is reached through NetnsSockets.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { egressRoute, parseConnectTarget, type EgressRoute } from './egress-policy.ts';
import { assertSocketPath } from './egress-config.ts';
import { ListenerSet } from './listeners.ts';
import { relay } from './relay.ts';
import { mirrors, serviceListeners, type ClusterState, type Endpoint, type Mirror, type ServiceListener } from './routes.ts';
import type { NetnsSockets } from './netns-sockets.ts';
import { inClusterNetwork, isLoopbackIp } from './addresses.ts';
import { hostMirror, type AddressPlan } from './topology.ts';

export interface GatewayOptions {
  netns: NetnsSockets;
  egressSocket: string;
  /** The API server on host loopback: the `kubernetes` Service's endpoint. */
  apiserver: Endpoint;
  plan: AddressPlan;
  /** Serve Services inside the namespace (off when kube-proxy does it). */
  serviceProxy: boolean;
  dialTimeoutMs?: number;
  /** Bound on mirrors asked for through POST /mirrors. */
  maxExtraMirrors?: number;
  log?: (msg: string) => void;
}

export interface GatewayCounters {
  egressHost: number;
  egressNetns: number;
  egressRefused: number;
  egressFailed: number;
  serviceConnections: number;
  serviceNoEndpoint: number;
  mirrorConnections: number;
  dialFailures: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Gateway {
  readonly counters: GatewayCounters = { egressHost: 0, egressNetns: 0, egressRefused: 0, egressFailed: 0, serviceConnections: 0, serviceNoEndpoint: 0, mirrorConnections: 0, dialFailures: 0 };
  /** The last refusals, for /status (a refused target is never dialled). */
  readonly refusals: { at: string; target: string; reason: string }[] = [];
  private readonly log: (msg: string) => void;
  private readonly services: ListenerSet<ServiceListener>;
  private readonly mirrorSet: ListenerSet<Mirror>;
  private readonly rr = new Map<string, number>();
  private readonly extra = new Map<string, Endpoint>();
  private http?: HttpServer;
  private state: ClusterState = { services: [], pods: [], slices: [] };
  private synced = false;
  private resync?: NodeJS.Timeout;

  constructor(readonly opts: GatewayOptions) {
    this.log = opts.log ?? (() => {});
    this.services = new ListenerSet('service', (s, l) => void this.serveService(s, l), this.log);
    this.mirrorSet = new ListenerSet('mirror', (s, m) => void this.serveMirror(s, m), this.log);
  }

  async start(): Promise<void> {
    assertSocketPath(this.opts.egressSocket);
    mkdirSync(dirname(this.opts.egressSocket), { recursive: true, mode: 0o700 });
    if (existsSync(this.opts.egressSocket)) await this.removeStaleSocket();
    const http = createHttpServer({ requestTimeout: 0 }, (req, res) => void this.control(req, res));
    http.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => void this.egress(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.opts.egressSocket, () => {
        http.off('error', reject);
        resolve();
      });
    });
    // Only root (the API server) may ask the gateway to open connections.
    chmodSync(this.opts.egressSocket, 0o600);
    this.http = http;
    this.apply();
    // Listeners that could not be bound (an address still taken) are retried.
    this.resync = setInterval(() => this.apply(), 2000);
    this.resync.unref();
  }

  private async removeStaleSocket(): Promise<void> {
    const inUse = await new Promise<boolean>((resolve) => {
      const s = connect(this.opts.egressSocket);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (inUse) throw new Error(`${this.opts.egressSocket} is served by another gateway`);
    unlinkSync(this.opts.egressSocket);
  }

  /** The cluster as the watches see it now; listeners follow. */
  update(state: ClusterState, synced = true): void {
    this.state = state;
    this.synced = this.synced || synced;
    this.apply();
  }

  get healthy(): boolean {
    return this.synced && this.opts.netns.alive && this.http !== undefined;
  }

  private apply(): void {
    const wantedServices = serviceListeners(this.state, this.opts.apiserver, this.opts.serviceProxy);
    this.services.sync(wantedServices.map((l) => ({ key: l.key, data: l, open: () => this.opts.netns.listen(l.ip, l.port) })));
    const wantedMirrors = mirrors(this.state, this.opts.plan, [...this.extra.values()]);
    this.mirrorSet.sync(wantedMirrors.map((m) => ({ key: m.key, data: m, open: () => listenHost(m.bind, m.port) })));
  }

  /** Connects to an endpoint: loopback on the host, the cluster network inside the namespace. */
  private async dial(e: Endpoint): Promise<Socket> {
    if (isLoopbackIp(e.host)) return dialHost(e.host, e.port, this.opts.dialTimeoutMs ?? 10_000);
    if (inClusterNetwork(e.host)) return this.opts.netns.dial(e.host, e.port);
    throw new Error(`refusing to dial ${e.host}:${e.port}: neither loopback nor the cluster network`);
  }

  private async serveService(client: Socket, l: ServiceListener): Promise<void> {
    client.on('error', () => client.destroy());
    this.counters.serviceConnections++;
    const eps = l.endpoints;
    if (eps.length === 0) {
      // As kube-proxy: a Service without ready endpoints rejects.
      this.counters.serviceNoEndpoint++;
      client.resetAndDestroy();
      return;
    }
    const start = this.rr.get(l.key) ?? 0;
    this.rr.set(l.key, start + 1);
    let lastErr: unknown;
    for (let i = 0; i < Math.min(3, eps.length); i++) {
      const ep = eps[(start + i) % eps.length]!;
      try {
        const up = await this.dial(ep);
        if (client.destroyed) {
          up.destroy();
          return;
        }
        relay(client, up);
        return;
      } catch (err) {
        this.counters.dialFailures++;
        lastErr = err;
      }
    }
    this.log(`service ${l.name}: no endpoint answered: ${String(lastErr)}`);
    client.resetAndDestroy();
  }

  private async serveMirror(client: Socket, m: Mirror): Promise<void> {
    client.on('error', () => client.destroy());
    this.counters.mirrorConnections++;
    try {
      const up = await this.opts.netns.dial(m.target.host, m.target.port);
      if (client.destroyed) up.destroy();
      else relay(client, up);
    } catch {
      // The pod refused (or is not there): the client sees a reset, as it would dialling the pod.
      this.counters.dialFailures++;
      client.resetAndDestroy();
    }
  }

  private async egress(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    let route: EgressRoute;
    try {
      route = egressRoute(parseConnectTarget(req.url ?? ''));
    } catch (err) {
      reply(socket, 400, (err as Error).message);
      return;
    }
    if (route.via === 'refuse') {
      this.counters.egressRefused++;
      this.refusals.push({ at: new Date().toISOString(), target: req.url ?? '', reason: route.reason });
      if (this.refusals.length > 20) this.refusals.shift();
      this.log(`egress refused: CONNECT ${req.url}: ${route.reason}`);
      reply(socket, 403, route.reason);
      return;
    }
    let up: Socket;
    try {
      up = route.via === 'host' ? await dialHost(route.host, route.port, this.opts.dialTimeoutMs ?? 10_000) : await this.opts.netns.dial(route.host, route.port);
    } catch (err) {
      this.counters.egressFailed++;
      const e = err as NodeJS.ErrnoException;
      this.log(`egress ${route.via} ${route.host}:${route.port}: ${e.code ?? ''} ${e.message}`);
      reply(socket, 502, `dial ${route.host}:${route.port} (${route.via === 'host' ? 'host loopback' : 'node namespace'}): ${e.code ?? e.message}`);
      return;
    }
    if (route.via === 'host') this.counters.egressHost++;
    else this.counters.egressNetns++;
    if (socket.destroyed) {
      up.destroy();
      return;
    }
    socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    if (head.length > 0) up.write(head);
    relay(socket, up);
  }

  status(): Record<string, unknown> {
    return {
      healthy: this.healthy,
      synced: this.synced,
      worker: { alive: this.opts.netns.alive, pid: this.opts.netns.workerPid },
      serviceProxy: this.opts.serviceProxy,
      services: this.services.open(),
      mirrors: this.mirrorSet.open(),
      failing: [...this.services.failing(), ...this.mirrorSet.failing()],
      counters: this.counters,
      refusals: this.refusals,
    };
  }

  /** Opens (or confirms) a mirror of a cluster address on host loopback; resolves once it listens. */
  async requestMirror(ip: string, port: number, timeoutMs = 5000): Promise<Endpoint> {
    const bind = inClusterNetwork(ip) ? hostMirror(ip, this.opts.plan) : undefined;
    if (!bind || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`ip must be in the pod or Service network and port 1-65535, got ${ip}:${port}`);
    const key = `${bind}:${port}`;
    if (!this.mirrorSet.open().includes(key)) {
      if (!this.extra.has(key) && this.extra.size >= (this.opts.maxExtraMirrors ?? 256)) throw new Error(`too many on-demand mirrors (${this.extra.size})`);
      this.extra.set(key, { host: ip, port });
      this.apply();
    }
    const deadline = Date.now() + timeoutMs;
    while (!this.mirrorSet.open().includes(key)) {
      if (Date.now() > deadline) throw new Error(`mirror ${key} did not open: ${this.mirrorSet.failing().find((f) => f.key === key)?.error ?? 'timeout'}`);
      await sleep(20);
    }
    return { host: bind, port };
  }

  private async control(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body) + '\n');
    };
    if (req.method === 'GET' && (url.pathname === '/healthz' || url.pathname === '/readyz')) {
      res.writeHead(this.healthy ? 200 : 503, { 'Content-Type': 'text/plain' });
      res.end(this.healthy ? 'ok\n' : `not ready: synced=${this.synced} worker=${this.opts.netns.alive}\n`);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/status') return json(200, this.status());
    if (req.method === 'POST' && url.pathname === '/mirrors') {
      try {
        return json(200, await this.requestMirror(url.searchParams.get('ip') ?? '', Number(url.searchParams.get('port'))));
      } catch (err) {
        return json(400, { error: (err as Error).message });
      }
    }
    json(404, { error: `no ${req.method} ${url.pathname}; known: GET /healthz, GET /status, POST /mirrors?ip=&port=, CONNECT host:port` });
  }

  async close(): Promise<void> {
    if (this.resync) clearInterval(this.resync);
    this.services.close();
    this.mirrorSet.close();
    await new Promise<void>((r) => (this.http ? this.http.close(() => r()) : r()));
    this.http?.closeAllConnections();
  }
}

function reply(socket: Socket, code: number, message: string): void {
  const text = { 400: 'Bad Request', 403: 'Forbidden', 502: 'Bad Gateway' }[code] ?? 'Error';
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function dialHost(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, allowHalfOpen: true });
    const t = setTimeout(() => s.destroy(Object.assign(new Error(`connect ${host}:${port} timed out`), { code: 'ETIMEDOUT' })), timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

function listenHost(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer({ allowHalfOpen: true });
    srv.once('error', reject);
    srv.listen({ host, port, exclusive: true }, () => {
      srv.off('error', reject);
      resolve(srv);
    });
  });
}
