// The HTTPS AdmissionReview server. Routes: POST /mutate/<plural>,
// POST /validate/<plural>, GET /healthz. The serving certificate is read from
// files and re-read when they change, so a cert-manager renewal (a new Secret
// projected into the pod) needs no restart.
//
// Admission changes no state here: resuming a database when its ops request
// ends is the ops-manager's (which re-reads the live objects), never a side
// effect of a review anyone who reaches this port could forge. With a client
// CA configured, only the API server (its client certificate, by name) gets
// an answer; /healthz stays open.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { admissionKindFor } from './kinds.ts';
import { mutate, validate, type AdmissionRequest } from './review.ts';
import type { Lookups } from './facts.ts';
import type { TLSSocket } from 'node:tls';

export interface WebhookServerOptions {
  certFile: string;
  keyFile: string;
  lookups: Lookups;
  host?: string;
  port?: number;
  /**
   * PEM file of the CA that signs the API server's client certificate for
   * webhooks (its AdmissionConfiguration kubeconfig). When set, reviews without
   * a client certificate from it are refused (403).
   */
  clientCaFile?: string;
  /** With clientCaFile: the certificate common names accepted (default: any the CA signed). */
  clientNames?: string[];
  log?: (msg: string) => void;
  /** How often the certificate files are checked for change. */
  certPollMs?: number;
}

export interface WebhookServer {
  port: number;
  url: string;
  /** How many times the certificate has been (re)loaded. */
  certLoads(): number;
  close(): Promise<void>;
}

const MAX_BODY = 3 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error('request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
  res.end(text);
}

/** Why a caller may not send reviews, or undefined when it may (see clientCaFile). */
export function callerRefusal(opts: Pick<WebhookServerOptions, 'clientCaFile' | 'clientNames'>, socket: TLSSocket): string | undefined {
  if (!opts.clientCaFile) return undefined;
  if (!socket.authorized) return `client certificate required: ${socket.authorizationError ? String(socket.authorizationError) : 'none presented'}`;
  const cn = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn.join(',') : (cn ?? '');
  if (opts.clientNames?.length && !opts.clientNames.includes(name)) return `client certificate ${JSON.stringify(name)} is not one of the API server's`;
  return undefined;
}

async function handle(opts: WebhookServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://webhook');
  if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, 'ok');
  const m = /^\/(mutate|validate)\/([a-z0-9.-]+)$/.exec(url.pathname);
  const k = m ? admissionKindFor(m[2]!) : undefined;
  if (!m || !k || req.method !== 'POST') return send(res, 404, 'not found');
  const refused = callerRefusal(opts, req.socket as TLSSocket);
  if (refused) {
    opts.log?.(`refused a review from ${req.socket.remoteAddress ?? '?'}: ${refused}`);
    return send(res, 403, 'forbidden');
  }
  const review = JSON.parse(await readBody(req)) as { apiVersion?: string; request?: AdmissionRequest };
  if (!review.request) return send(res, 400, 'AdmissionReview without request');
  const response = m[1] === 'mutate' ? await mutate(k, review.request, opts.lookups) : await validate(k, review.request, opts.lookups);
  if (!response.allowed) opts.log?.(`denied ${review.request.operation} ${k.info.kind} ${review.request.namespace ?? ''}/${review.request.name ?? ''}: ${response.status?.message}`);
  send(res, 200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
}

/** Idle connections stay open longer than the API server's client keeps them (90 s). */
export const WEBHOOK_KEEP_ALIVE_MS = 120_000;

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const readCert = () => ({ cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) });
  let loads = 1;
  // requestCert without rejectUnauthorized: the handshake succeeds (so /healthz works for probes), each review checks the result.
  const clientAuth = opts.clientCaFile ? { requestCert: true, rejectUnauthorized: false, ca: readFileSync(opts.clientCaFile) } : {};
  const server: Server = createServer({ ...readCert(), ...clientAuth, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      opts.log?.(`webhook error on ${req.url}: ${String(err)}`);
      if (!res.headersSent) send(res, 500, String(err));
    });
  });
  // The API server's webhook client (Go) keeps idle connections up to 90 s; Node
  // closes its own after 5 s, and a review sent on a connection Node was closing
  // failed with EOF ("failed calling webhook …: EOF", seen at 100 databases).
  server.keepAliveTimeout = WEBHOOK_KEEP_ALIVE_MS;
  server.headersTimeout = WEBHOOK_KEEP_ALIVE_MS + 5_000;
  const reload = () => {
    try {
      // The whole context is replaced: the client CA must go with the new pair, or every review is refused.
      server.setSecureContext({ ...readCert(), ...(opts.clientCaFile ? { ca: readFileSync(opts.clientCaFile) } : {}) });
      loads++;
      opts.log?.('webhook serving certificate reloaded');
    } catch (err) {
      // A half-written pair (cert updated, key not yet): the next change event retries.
      opts.log?.(`webhook certificate reload failed, keeping the old one: ${String(err)}`);
    }
  };
  const interval = opts.certPollMs ?? 1000;
  // Polling (not fs.watch) survives the symlink swaps a Secret volume does on update.
  watchFile(opts.certFile, { interval }, reload);
  watchFile(opts.keyFile, { interval }, reload);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `https://${opts.host ?? '127.0.0.1'}:${port}`,
    certLoads: () => loads,
    close: () =>
      new Promise<void>((resolve) => {
        unwatchFile(opts.certFile, reload);
        unwatchFile(opts.keyFile, reload);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
