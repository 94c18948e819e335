// The HTTPS AdmissionReview server. Routes: POST /mutate/<plural>,
// POST /validate/<plural>, GET /healthz. The serving certificate is read from
// files and re-read when they change, so a cert-manager renewal (a new Secret
// projected into the pod) needs no restart.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { admissionKindFor } from './kinds.ts';
import { mutate, validate, type AdmissionRequest, type AdmissionResponse } from './review.ts';
import type { Lookups } from './facts.ts';
import { completesOps } from './resume.ts';
import type { OpsKind } from '../api/kinds.ts';

export interface WebhookServerOptions {
  certFile: string;
  keyFile: string;
  lookups: Lookups;
  host?: string;
  port?: number;
  /** Called when an ops request's status moves to Successful/Failed (see resume.ts). */
  onOpsCompleted?: (kind: OpsKind, namespace: string, dbName: string) => Promise<unknown>;
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

async function afterValidate(opts: WebhookServerOptions, plural: string, req: AdmissionRequest, resp: AdmissionResponse): Promise<void> {
  if (!opts.onOpsCompleted || !resp.allowed || req.dryRun || req.operation !== 'UPDATE' || req.subResource !== 'status') return;
  const k = admissionKindFor(plural);
  if (!k || k.info.group !== 'ops.kubedb.com') return;
  type Ops = { status?: { phase?: string }; spec?: { databaseRef?: { name?: string } } };
  if (!completesOps(req.oldObject as Ops, req.object as Ops)) return;
  const dbName = (req.object as Ops).spec?.databaseRef?.name;
  if (!dbName || !req.namespace) return;
  try {
    await opts.onOpsCompleted(k.info.kind as OpsKind, req.namespace, dbName);
  } catch (err) {
    // Never block the status write: the ops-manager resumes the database too.
    opts.log?.(`resume of ${k.info.kind} target ${req.namespace}/${dbName} failed: ${String(err)}`);
  }
}

async function handle(opts: WebhookServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://webhook');
  if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, 'ok');
  const m = /^\/(mutate|validate)\/([a-z0-9.-]+)$/.exec(url.pathname);
  const k = m ? admissionKindFor(m[2]!) : undefined;
  if (!m || !k || req.method !== 'POST') return send(res, 404, 'not found');
  const review = JSON.parse(await readBody(req)) as { apiVersion?: string; request?: AdmissionRequest };
  if (!review.request) return send(res, 400, 'AdmissionReview without request');
  const response = m[1] === 'mutate' ? await mutate(k, review.request, opts.lookups) : await validate(k, review.request, opts.lookups);
  if (m[1] === 'validate') await afterValidate(opts, m[2]!, review.request, response);
  if (!response.allowed) opts.log?.(`denied ${review.request.operation} ${k.info.kind} ${review.request.namespace ?? ''}/${review.request.name ?? ''}: ${response.status?.message}`);
  send(res, 200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const readCert = () => ({ cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) });
  let loads = 1;
  const server: Server = createServer({ ...readCert(), minVersion: 'TLSv1.2' }, (req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      opts.log?.(`webhook error on ${req.url}: ${String(err)}`);
      if (!res.headersSent) send(res, 500, String(err));
    });
  });
  const reload = () => {
    try {
      server.setSecureContext(readCert());
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
