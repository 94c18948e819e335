// The HTTP layer under client-node's generated API: Node's own http/https
// with keep-alive, in place of its default (node-fetch 2, a new https.Agent
// per call). Per call meant a TLS handshake per request on both sides; at 100
// databases (~84 calls/s at rest) the operator's C heap grew to 165 MiB and the
// API server spent its CPU on handshakes. node-fetch 2 could not simply be
// given a shared keep-alive agent: reused sockets fail there with "Premature
// close" (node-fetch/node-fetch#1767), seen in-cluster.
import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createConfiguration, ResponseContext, ServerConfiguration, wrapHttpLibrary } from '@kubernetes/client-node';
import type * as k8s from '@kubernetes/client-node';

/** Free sockets close after this much idleness, well before the API server's own (90 s). */
export const IDLE_SOCKET_MS = 30_000;
/** TLS identities kept (a rotated client certificate gets a new agent; the oldest is dropped). */
const MAX_IDENTITIES = 4;

export interface HttpStats {
  /** TCP (and TLS) connections opened. */
  connections: number;
  /** Requests sent. */
  requests: number;
  /** Requests retried once after a reused socket was closed under them. */
  retries: number;
}

/** Methods safe to send again when a reused keep-alive socket turns out to be closed before any answer. */
const RETRYABLE = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

export class KeepAliveHttpLibrary implements k8s.PromiseHttpLibrary {
  readonly stats: HttpStats = { connections: 0, requests: 0, retries: 0 };
  private readonly agents = new Map<string, HttpAgent | HttpsAgent>();

  async send(ctx: k8s.RequestContext): Promise<k8s.ResponseContext> {
    const body = ctx.getBody();
    if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
      throw new Error('KeepAliveHttpLibrary sends string or Buffer bodies only');
    }
    const agent = this.shared(ctx.getUrl(), ctx.getAgent());
    const first = await this.once(ctx, agent, body).catch((err: unknown) => err as RequestError);
    if (!(first instanceof Error)) return first;
    // A keep-alive socket the server closed just as we reused it: no byte of
    // the answer came, so an idempotent request is sent once more (as Go's client does).
    if (first.reusedSocket && !first.answered && RETRYABLE.has(ctx.getHttpMethod().toString()) && !ctx.getSignal()?.aborted) {
      this.stats.retries++;
      return this.once(ctx, agent, body);
    }
    throw first;
  }

  /** Closes idle and active sockets (tests; a process that exits needs nothing). */
  destroy(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  private once(ctx: k8s.RequestContext, agent: HttpAgent | HttpsAgent | undefined, body: string | Buffer | undefined): Promise<k8s.ResponseContext> {
    const url = new URL(ctx.getUrl());
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      this.stats.requests++;
      // Content-Length always: Node sends a DELETE's body without one (no chunking for
      // DELETE), so the API server read the DeleteOptions (a uid precondition) as the
      // next request on the connection: the delete went through unconditioned.
      const headers = body === undefined ? ctx.getHeaders() : { ...ctx.getHeaders(), 'Content-Length': String(Buffer.byteLength(body)) };
      const req = send(url, { method: ctx.getHttpMethod().toString(), headers, agent, signal: ctx.getSignal() });
      req.on('socket', () => {
        if (!req.reusedSocket) this.stats.connections++;
      });
      req.on('error', (err: RequestError) => {
        err.reusedSocket = req.reusedSocket;
        reject(err);
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err: RequestError) => {
          err.answered = true;
          reject(err);
        });
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve(new ResponseContext(res.statusCode ?? 0, headers, { text: async () => data.toString('utf8'), binary: async () => data }));
        });
      });
      req.end(body);
    });
  }

  /**
   * client-node made a fresh agent for this call (KubeConfig.applySecurityAuthentication);
   * its TLS options name the identity, and calls with the same identity share one
   * keep-alive agent. A proxy agent, or none, is used as given.
   */
  private shared(url: string, fresh: HttpAgent | HttpsAgent | undefined): HttpAgent | HttpsAgent | undefined {
    const https = url.startsWith('https:');
    if (fresh && fresh.constructor !== HttpsAgent && fresh.constructor !== HttpAgent) return fresh;
    const o = (fresh as HttpsAgent | undefined)?.options ?? {};
    const key = createHash('sha256')
      .update(JSON.stringify([https, o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername].map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v ?? null))))
      .digest('hex');
    let agent = this.agents.get(key);
    if (!agent) {
      for (const [k, old] of this.agents) {
        if (this.agents.size < MAX_IDENTITIES) break;
        old.destroy();
        this.agents.delete(k);
      }
      // No cap on sockets (Node's default): the workers bound how many calls are in
      // flight, and a cap would queue the leader's Lease renewal behind slow calls.
      const opts = { keepAlive: true, timeout: IDLE_SOCKET_MS };
      agent = https ? new HttpsAgent({ ...o, ...opts }) : new HttpAgent(opts);
      this.agents.set(key, agent);
    }
    return agent;
  }
}

type RequestError = Error & { reusedSocket?: boolean; answered?: boolean };

/** A client-node API client whose calls go through `http` (one keep-alive library per client by default). */
export function makeApiClient<T extends k8s.ApiType>(kc: k8s.KubeConfig, ctor: new (config: k8s.Configuration) => T, http: KeepAliveHttpLibrary): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  return new ctor(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      httpApi: wrapHttpLibrary(http),
    }),
  );
}
