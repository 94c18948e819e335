// The HTTPS AdmissionReview server, over real TLS on loopback: routes,
// JSONPatch responses, denials, and the serving certificate swapped on disk.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import { runOk } from '../../helpers/exec.ts';
import { eventually } from '../../helpers/exec.ts';
import { makeCa, tmpDir } from '../../helpers/tls.ts';
import { startWebhookServer, type WebhookServer } from '../../../src/webhook/server.ts';
import type { Lookups } from '../../../src/webhook/facts.ts';
import { fixture, PG_VERSIONS } from './helpers.ts';

async function leaf(dir: string, ca: { crt: string; key: string }, name: string): Promise<{ crt: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const crt = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await runOk('openssl', ['req', '-nodes', '-newkey', 'rsa:2048', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await runOk('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > ${ext}`]);
  await runOk('openssl', ['x509', '-req', '-in', csr, '-CA', ca.crt, '-CAkey', ca.key, '-CAcreateserial', '-days', '1', '-out', crt, '-extfile', ext]);
  return { crt, key };
}

/** Lookups answering from a fixed catalog: the HTTP layer is under test here, the API server in e2e. */
const lookups: Lookups = {
  listVersions: async () => PG_VERSIONS,
  getDatabase: async () => undefined,
  getIssuer: async () => undefined,
  reviewAccess: async () => false,
};

function post(s: WebhookServer, ca: Buffer, path: string, body: unknown): Promise<{ status: number; json: { response: Record<string, unknown> } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${s.url}${path}`, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: res.statusCode === 200 ? JSON.parse(text) : { response: {} } }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function servedSubject(s: WebhookServer, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port: s.port, ca }, () => {
      const cn = sock.getPeerCertificate().subject.CN;
      sock.end();
      resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? ''));
    });
    sock.on('error', reject);
  });
}

describe('webhook server', () => {
  let dir: string;
  let ca: Buffer;
  let caFiles: { crt: string; key: string };
  let s: WebhookServer;
  const review = (operation: string, object: unknown) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', kind: { group: 'kubedb.com', version: 'v1', kind: 'Postgres' }, operation, name: 'ha-postgres', namespace: 'demo', object },
  });

  before(async () => {
    dir = tmpDir('pgtls-webhook-');
    caFiles = await makeCa(dir, '/CN=webhook-ca');
    ca = readFileSync(caFiles.crt);
    const first = await leaf(dir, caFiles, 'first');
    copyFileSync(first.crt, join(dir, 'tls.crt'));
    copyFileSync(first.key, join(dir, 'tls.key'));
    s = await startWebhookServer({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), lookups, certPollMs: 100 });
  });
  after(async () => s?.close());

  it('mutates with a JSONPatch of the defaults', async () => {
    const r = await post(s, ca, '/mutate/postgreses', review('CREATE', fixture('postgres-ha-postgres.yaml')));
    assert.equal(r.status, 200);
    assert.equal(r.json.response.uid, 'u1');
    assert.equal(r.json.response.allowed, true);
    assert.equal(r.json.response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(String(r.json.response.patch), 'base64').toString()) as { path: string; value: unknown }[];
    assert.deepEqual(patch.find((p) => p.path === '/spec/sslMode')?.value, 'disable');
    assert.deepEqual(patch.find((p) => p.path === '/spec/clientAuthMode')?.value, 'scram');
    assert.deepEqual(patch.find((p) => p.path === '/spec/authSecret')?.value, { name: 'ha-postgres-auth', kind: 'Secret' });
  });

  it('validates and denies with field errors', async () => {
    const pg = fixture<{ spec: Record<string, unknown> }>('postgres-ha-postgres.yaml');
    pg.spec.version = '9.6';
    const r = await post(s, ca, '/validate/postgreses', review('CREATE', pg));
    assert.equal(r.json.response.allowed, false);
    assert.deepEqual(r.json.response.status, {
      code: 422,
      reason: 'Invalid',
      message: 'Postgres.kubedb.com "ha-postgres" is invalid: spec.version: Unsupported value: "9.6": supported values: "10", "15", "18.3"',
      details: { name: 'ha-postgres', group: 'kubedb.com', kind: 'Postgres', causes: [{ reason: 'FieldValueNotSupported', field: 'spec.version', message: 'Unsupported value: "9.6": supported values: "10", "15", "18.3"' }] },
    });
  });

  it('keeps an idle connection open past Node\'s default 5 s, as the API server\'s client (90 s idle) expects', async () => {
    const agent = new Agent({ keepAlive: true, ca });
    const get = () =>
      new Promise<boolean>((resolve, reject) => {
        const req = request(`${s.url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(req.reusedSocket));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      assert.equal(await get(), false);
      await new Promise((r) => setTimeout(r, 6_000));
      assert.equal(await get(), true, 'the second review reused the idle connection');
    } finally {
      agent.destroy();
    }
  });

  it('answers 404 for unknown kinds', async () => {
    assert.equal((await post(s, ca, '/validate/widgets', review('CREATE', {}))).status, 404);
  });

  it('serves a renewed certificate without a restart', async () => {
    assert.equal(await servedSubject(s, ca), 'first');
    const loads = s.certLoads();
    const second = await leaf(dir, caFiles, 'second');
    copyFileSync(second.key, join(dir, 'tls.key'));
    copyFileSync(second.crt, join(dir, 'tls.crt'));
    await eventually('the renewed certificate to be served', async () => (await servedSubject(s, ca)) === 'second', 10_000, 100);
    assert.ok(s.certLoads() > loads);
  });
});

describe('webhook server: only the API server may send reviews (issue 11 item 3)', () => {
  let ca: Buffer;
  let s: WebhookServer;
  const certs: Record<string, { cert: Buffer; key: Buffer }> = {};
  let renew: () => Promise<void>;
  const body = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u2', kind: { group: 'kubedb.com', version: 'v1', kind: 'Postgres' }, operation: 'CREATE', name: 'ha-postgres', namespace: 'demo', object: fixture('postgres-ha-postgres.yaml') },
  };

  function call(path: string, client?: { cert: Buffer; key: Buffer }, method = 'POST'): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(`${s.url}${path}`, { method, ca, ...client, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(method === 'POST' ? JSON.stringify(body) : undefined);
    });
  }

  before(async () => {
    const servingDir = tmpDir('pgtls-webhook-');
    const clientDir = tmpDir('pgtls-webhook-client-');
    const servingCa = await makeCa(servingDir, '/CN=webhook-ca');
    const clientCa = await makeCa(clientDir, '/CN=cluster-ca');
    ca = readFileSync(servingCa.crt);
    const serving = await leaf(servingDir, servingCa, 'serving');
    const load = (f: { crt: string; key: string }) => ({ cert: readFileSync(f.crt), key: readFileSync(f.key) });
    certs.apiserver = load(await leaf(clientDir, clientCa, 'kube-apiserver-webhook-client'));
    certs.otherName = load(await leaf(clientDir, clientCa, 'system:node:local'));
    certs.otherCa = load(await leaf(servingDir, servingCa, 'kube-apiserver-webhook-client'));
    s = await startWebhookServer({ certFile: serving.crt, keyFile: serving.key, lookups, clientCaFile: clientCa.crt, clientNames: ['kube-apiserver-webhook-client'], certPollMs: 100 });
    renew = async () => {
      const next = await leaf(tmpDir('pgtls-webhook-next-'), servingCa, 'serving');
      copyFileSync(next.key, serving.key);
      copyFileSync(next.crt, serving.crt);
    };
  });
  after(async () => s?.close());

  it('answers the API server\'s client certificate', async () => {
    assert.equal(await call('/mutate/postgreses', certs.apiserver), 200);
    assert.equal(await call('/validate/postgreses', certs.apiserver), 200);
  });

  it('refuses a caller without a client certificate, with one from another CA, or with another name', async () => {
    assert.equal(await call('/validate/postgreses'), 403);
    assert.equal(await call('/mutate/postgreses', certs.otherCa), 403);
    assert.equal(await call('/validate/postgreses', certs.otherName), 403);
  });

  it('keeps /healthz open for probes', async () => {
    assert.equal(await call('/healthz', undefined, 'GET'), 200);
  });

  it('still checks client certificates after its serving certificate renews', async () => {
    const loads = s.certLoads();
    await renew();
    await eventually('the renewed certificate to be loaded', async () => s.certLoads() > loads || undefined, 10_000, 100);
    assert.equal(await call('/validate/postgreses', certs.apiserver), 200);
    assert.equal(await call('/validate/postgreses'), 403);
  });
});
