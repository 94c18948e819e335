// The keep-alive HTTP layer under client-node, against a real TLS server on
// loopback: calls share connections, a socket the server drops under a reused
// connection is retried for idempotent calls only, and answers (errors
// included) read as client-node's own did.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { Kube, isNotFound } from '../../../src/kube/client.ts';
import { k8s } from '../../../src/kube/client-node.ts';
import { runOk } from '../../helpers/exec.ts';
import { tmpDir } from '../../helpers/tls.ts';

const discovery = { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'configmaps', singularName: 'configmap', namespaced: true, kind: 'ConfigMap', verbs: ['get', 'create'] }] };

describe('KeepAliveHttpLibrary (client-node calls over keep-alive connections)', () => {
  let server: Server;
  let port = 0;
  let ca = '';
  let tlsConnections = 0;
  /** Requests seen per socket; `drop` makes the server close a reused socket without answering, once. */
  const seen = new WeakMap<Socket, number>();
  let drop = false;
  let creates = 0;
  const deletes: { length?: string; body: string }[] = [];
  const HELD = 40;
  const held: (() => void)[] = [];

  before(async () => {
    const dir = tmpDir('pgtls-http-');
    const crt = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    await runOk('openssl', ['req', '-x509', '-nodes', '-days', '1', '-newkey', 'rsa:2048', '-keyout', key, '-out', crt, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    ca = readFileSync(crt, 'utf8');
    server = createServer({ cert: ca, key: readFileSync(key) }, (req, res) => {
      const n = (seen.get(req.socket) ?? 0) + 1;
      seen.set(req.socket, n);
      if (drop && n > 1) {
        drop = false;
        req.socket.destroy();
        return;
      }
      const json = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/api/v1') return json(200, discovery);
      if (req.method === 'DELETE') {
        let text = '';
        req.on('data', (c: Buffer) => (text += c.toString()));
        req.on('end', () => {
          deletes.push({ length: req.headers['content-length'], body: text });
          json(200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
        });
        return;
      }
      if (req.method === 'POST') {
        creates++;
        return json(201, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made', namespace: 'a' } });
      }
      if (req.url?.startsWith('/api/v1/namespaces/a/configmaps/held')) {
        // Answers only once HELD calls are in flight together.
        held.push(() => json(200, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: 'a' } }));
        if (held.length >= HELD) for (const answer of held.splice(0)) answer();
        return;
      }
      if (req.url?.startsWith('/api/v1/namespaces/a/configmaps/missing')) return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      return json(200, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'a' }, data: { k: 'v'.repeat(100_000) } });
    });
    server.on('secureConnection', () => tlsConnections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  function kube(): Kube {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, caData: Buffer.from(ca).toString('base64') }],
      users: [{ name: 'u', token: 'not-a-secret' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return new Kube(kc);
  }

  it('sends 20 calls in a row over one TLS connection (client-node alone opened one per call)', async () => {
    const k = kube();
    const before = tlsConnections;
    for (let i = 0; i < 20; i++) {
      const cm = await k.get<{ data: { k: string } } & k8s.KubernetesObject>('v1', 'ConfigMap', 'cm', 'a');
      assert.equal(cm?.data.k.length, 100_000);
    }
    assert.equal(tlsConnections - before, 1);
    assert.deepEqual({ connections: k.http.stats.connections, requests: k.http.stats.requests }, { connections: 1, requests: 21 });
    k.http.destroy();
  });

  it('opens a connection per concurrent call and reuses them after', async () => {
    const k = kube();
    const before = tlsConnections;
    await Promise.all(Array.from({ length: 50 }, () => k.get('v1', 'ConfigMap', 'cm', 'a')));
    const opened = tlsConnections - before;
    assert.ok(opened >= 1 && opened <= 51, `opened ${opened}`);
    await Promise.all(Array.from({ length: 10 }, () => k.get('v1', 'ConfigMap', 'cm', 'a')));
    assert.equal(tlsConnections - before, opened, 'the second burst reused the pool');
    k.http.destroy();
  });

  it('puts no cap on concurrent calls: 40 slow calls in flight do not queue a 41st (a Lease renewal) behind them', async () => {
    const k = kube();
    const calls = Promise.all(Array.from({ length: HELD }, () => k.get('v1', 'ConfigMap', 'held', 'a')));
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`not all ${HELD} calls reached the server at once`)), 10_000)));
    try {
      assert.equal((await Promise.race([calls, bounded]) as unknown[]).length, HELD);
    } finally {
      clearTimeout(timer);
      k.http.destroy();
    }
  });

  it('sends a DELETE\'s body (a uid precondition) with its length, and the connection stays usable', async () => {
    const k = kube();
    assert.equal(await k.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'a' }, { uid: 'u-1' }), true);
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: 'u-1' } });
    assert.deepEqual(deletes.at(-1), { length: String(Buffer.byteLength(body)), body });
    assert.equal((await k.get('v1', 'ConfigMap', 'cm', 'a'))?.metadata?.name, 'cm', 'the next call on the same connection is answered');
    k.http.destroy();
  });

  it('reads an error answer as client-node does (404 → not found)', async () => {
    const k = kube();
    assert.equal(await k.get('v1', 'ConfigMap', 'missing', 'a'), undefined);
    await assert.rejects(k.objects.send(k8s.HttpMethod.GET, '/api/v1/namespaces/a/configmaps/missing'), (e: unknown) => isNotFound(e));
    k.http.destroy();
  });

  it('retries a GET once when the server drops a reused socket without answering', async () => {
    const k = kube();
    await k.get('v1', 'ConfigMap', 'cm', 'a');
    drop = true;
    const cm = await k.get('v1', 'ConfigMap', 'cm', 'a');
    assert.equal(cm?.metadata?.name, 'cm');
    assert.equal(drop, false, 'the server did drop the socket');
    assert.equal(k.http.stats.retries, 1);
    k.http.destroy();
  });

  it('does not send a create twice: a dropped reused socket fails the POST', async () => {
    const k = kube();
    await k.get('v1', 'ConfigMap', 'cm', 'a');
    drop = true;
    const before = creates;
    await assert.rejects(k.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made', namespace: 'a' } }), /socket hang up|ECONNRESET/);
    assert.equal(creates, before, 'the server never answered a create');
    assert.equal(k.http.stats.retries, 0);
    k.http.destroy();
  });
});
