// The operator's plain-HTTP endpoints: /healthz and /readyz for probes and
// `pgtls up`, /metrics for Prometheus. One listener per address; health and
// metrics share it when given the same address.
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import type { OperatorMetrics } from './metrics.ts';

export interface ListenAddress {
  /** undefined: every interface (node picks `::` or `0.0.0.0`), as `:8080` asks. */
  host?: string;
  port: number;
}

/**
 * `host:port`, `[v6]:port` or `:port` (every interface, for a pod), as
 * controller-runtime spells its bind addresses. Throws naming the flag.
 */
export function parseListenAddress(flag: string, v: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${flag} must be <host>:<port>, [<ipv6>]:<port> or :<port> (every interface), got "${v}"`);
  }
  const host = m[1] ?? m[2] ?? '';
  if (host === '') return { port };
  if (m[1] !== undefined && isIP(host) !== 6) throw new Error(`${flag}: "${host}" is not an IPv6 address`);
  if (host !== 'localhost' && m[1] === undefined && isIP(host) === 0) throw new Error(`${flag}: "${host}" is not an IP address (or localhost)`);
  return { host, port };
}

export const sameAddress = (a: ListenAddress, b: ListenAddress) => a.port === b.port && (a.host ?? '*') === (b.host ?? '*');

export function formatAddress(a: ListenAddress): string {
  if (a.host === undefined) return `:${a.port}`;
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export interface HealthState {
  leader: boolean;
  /** The webhook serves (and, where this replica registers it, the API server calls it). */
  webhookReady: boolean;
  body: object;
}

export interface EndpointsOptions {
  health?: () => HealthState;
  metrics?: OperatorMetrics;
}

export interface RunningEndpoints {
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * GET /healthz: the process runs. GET /readyz: the webhook serves; with
 * `?leader=true` this replica must also lead (what `pgtls up` waits on).
 * GET /metrics: Prometheus text.
 */
export function startEndpoints(addr: ListenAddress, opts: EndpointsOptions): Promise<RunningEndpoints> {
  const srv = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (opts.metrics && url.pathname === '/metrics') {
      opts.metrics
        .text()
        .then(({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body))
        .catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics: ${String(err)}\n`));
      return;
    }
    if (opts.health && (url.pathname === '/healthz' || url.pathname === '/readyz')) {
      const s = opts.health();
      const ok = url.pathname === '/healthz' || (s.webhookReady && (url.searchParams.get('leader') !== 'true' || s.leader));
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok, leader: s.leader, ...s.body }) + '\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  // A scrape or probe holds no connection open for long.
  srv.keepAliveTimeout = 5000;
  srv.headersTimeout = 10_000;
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    const ready = () => {
      srv.off('error', reject);
      const a = srv.address();
      resolve({
        server: srv,
        port: typeof a === 'object' && a ? a.port : addr.port,
        close: () =>
          new Promise<void>((r) => {
            srv.closeAllConnections();
            srv.close(() => r());
          }),
      });
    };
    if (addr.host === undefined) srv.listen(addr.port, ready);
    else srv.listen(addr.port, addr.host, ready);
  });
}
