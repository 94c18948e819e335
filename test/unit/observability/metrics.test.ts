// The operator's metrics: the served-certificate gauges from real TLS
// handshakes with a local pgwire-style server (SSLRequest, then TLS), the
// controller and work-queue series, ops requests by phase and step times.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { issueCa, issueLeaf, type IssuedCa, type KeyPairPem } from '../../../src/certs/issue.ts';
import { probeTls } from '../../../src/engines/shared/probe.ts';
import { OperatorMetrics, metrics as globalMetrics, servedTargetOfPod } from '../../../src/observability/metrics.ts';
import { probePod } from '../../../src/opsmanager/rollout.ts';
import { WorkQueue } from '../../../src/kube/workqueue.ts';

/** A server that answers a pgwire SSLRequest like PostgreSQL: 'S' then TLS with `cert`, or 'N'. */
class PgwireTlsServer {
  private srv: net.Server;
  cert: KeyPairPem | 'no-ssl';
  constructor(cert: KeyPairPem | 'no-ssl') {
    this.cert = cert;
    this.srv = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.once('data', () => {
        const c = this.cert;
        if (c === 'no-ssl') {
          sock.end('N');
          return;
        }
        sock.write('S');
        const t = new tls.TLSSocket(sock, { isServer: true, key: c.keyPem, cert: c.certPem });
        t.on('error', () => undefined);
      });
    });
  }
  listen(): Promise<number> {
    return new Promise((r) => this.srv.listen(0, '127.0.0.1', () => r((this.srv.address() as net.AddressInfo).port)));
  }
  close(): Promise<void> {
    return new Promise((r) => this.srv.close(() => r()));
  }
}

const pod = (name: string, port: number) => ({
  metadata: {
    name,
    namespace: 'demo',
    labels: { 'app.kubernetes.io/name': 'postgreses.kubedb.com', 'app.kubernetes.io/instance': 'pg', 'app.kubernetes.io/managed-by': 'kubedb.com' },
  },
  status: { podIP: '127.0.0.1' },
  port,
});

/** The value of one series in Prometheus text, or undefined when absent. */
async function value(m: OperatorMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (metric?.values as { labels: Record<string, string | number>; value: number }[] | undefined)?.find((s) =>
    Object.entries(labels).every(([k, val]) => String(s.labels[k]) === val),
  );
  return v?.value;
}

const expirySeconds = (pem: string) => Math.floor(new Date(new X509Certificate(pem).validTo).getTime() / 1000);

describe('served-certificate metrics', () => {
  let ca: IssuedCa;
  let first: KeyPairPem;
  let second: KeyPairPem;
  let server: PgwireTlsServer;
  let port: number;
  const target = { kind: 'Postgres', namespace: 'demo', database: 'pg', pod: 'pg-0', alias: 'server' };
  const series = { namespace: 'demo', database: 'pg', pod: 'pg-0', alias: 'server' };

  before(async () => {
    ca = await issueCa({ commonName: 'metrics-test-ca', algorithm: 'ecdsa' });
    const day = 24 * 3600 * 1000;
    first = await issueLeaf(ca, { commonName: 'pg', usage: 'server', dnsNames: ['pg-0.pg-pods.demo.svc'], algorithm: 'ecdsa', notAfter: new Date(Date.now() + 5 * day) });
    second = await issueLeaf(ca, { commonName: 'pg', usage: 'server', dnsNames: ['pg-0.pg-pods.demo.svc'], algorithm: 'ecdsa', notAfter: new Date(Date.now() + 90 * day) });
    server = new PgwireTlsServer(first);
    port = await server.listen();
  });
  after(() => server.close());

  it('reports the expiry of the certificate the server presents in the handshake, and whether it is the Secret\'s', async () => {
    const m = new OperatorMetrics();
    m.served.setSecretCertificate(target, first.certPem);
    const r = await probeTls({ host: '127.0.0.1', port });
    assert.ok(r.kind === 'tls' && r.fingerprint256 === new X509Certificate(first.certPem).fingerprint256, 'the handshake presented the first certificate');
    m.served.observe(target, r);
    assert.equal(await value(m, 'pgtls_served_certificate_expiry_timestamp_seconds', series), expirySeconds(first.certPem));
    assert.equal(await value(m, 'pgtls_served_certificate_matches_secret', series), 1);
    assert.equal(await value(m, 'pgtls_served_certificate_probe_success', series), 1);
    assert.equal(await value(m, 'pgtls_secret_certificate_expiry_timestamp_seconds', { database: 'pg', alias: 'server' }), expirySeconds(first.certPem));

    // cert-manager renews: the Secret holds the new certificate, the server still serves the old one.
    m.served.setSecretCertificate(target, second.certPem);
    assert.equal(await value(m, 'pgtls_served_certificate_matches_secret', series), 0, 'a renewal that did not reach the server shows as 0');
    assert.equal(await value(m, 'pgtls_served_certificate_expiry_timestamp_seconds', series), expirySeconds(first.certPem));

    // The server reloads: the next probe sees the new certificate.
    server.cert = second;
    m.served.observe(target, await probeTls({ host: '127.0.0.1', port }));
    assert.equal(await value(m, 'pgtls_served_certificate_expiry_timestamp_seconds', series), expirySeconds(second.certPem));
    assert.equal(await value(m, 'pgtls_served_certificate_matches_secret', series), 1);
    server.cert = first;
  });

  it('a server without TLS has no certificate series; an unreachable one keeps its last values with probe_success 0', async () => {
    const m = new OperatorMetrics();
    m.served.setSecretCertificate(target, first.certPem);
    m.served.observe(target, await probeTls({ host: '127.0.0.1', port }));
    // Unreachable: a closed port on loopback.
    const closed = net.createServer();
    const closedPort = await new Promise<number>((r) => closed.listen(0, '127.0.0.1', () => r((closed.address() as net.AddressInfo).port)));
    await new Promise((r) => closed.close(r));
    const err = await probeTls({ host: '127.0.0.1', port: closedPort }, { timeoutMs: 1000 });
    assert.equal(err.kind, 'error');
    m.served.observe(target, err);
    assert.equal(await value(m, 'pgtls_served_certificate_probe_success', series), 0);
    assert.equal(await value(m, 'pgtls_served_certificate_expiry_timestamp_seconds', series), expirySeconds(first.certPem));

    server.cert = 'no-ssl';
    try {
      const r = await probeTls({ host: '127.0.0.1', port });
      assert.equal(r.kind, 'no-ssl');
      m.served.observe(target, r);
    } finally {
      server.cert = first;
    }
    assert.equal(await value(m, 'pgtls_served_certificate_expiry_timestamp_seconds', series), undefined);
    assert.equal(await value(m, 'pgtls_served_certificate_matches_secret', series), undefined);
    assert.equal(await value(m, 'pgtls_served_certificate_probe_success', series), 1);
  });

  it('drops the series of pods that are gone, and of a database that is deleted', async () => {
    const m = new OperatorMetrics();
    m.served.setSecretCertificate(target, first.certPem);
    const r = await probeTls({ host: '127.0.0.1', port });
    m.served.observe(target, r);
    m.served.observe({ ...target, pod: 'pg-1' }, r);
    m.served.retainPods(target, new Set(['pg-0']));
    assert.equal(await value(m, 'pgtls_served_certificate_expiry_timestamp_seconds', { ...series, pod: 'pg-1' }), undefined);
    assert.ok((await value(m, 'pgtls_served_certificate_expiry_timestamp_seconds', series)) !== undefined);
    m.served.forget(target);
    assert.equal(await value(m, 'pgtls_served_certificate_expiry_timestamp_seconds', series), undefined);
    assert.equal(await value(m, 'pgtls_secret_certificate_expiry_timestamp_seconds', { database: 'pg' }), undefined);
  });

  it('the rollout\'s wire check (probePod) records what the pod serves, labelled from its offshoot labels', async () => {
    const p = pod('pg-7', port);
    assert.deepEqual(servedTargetOfPod(p), { kind: 'Postgres', namespace: 'demo', database: 'pg', pod: 'pg-7', alias: 'server' });
    globalMetrics.served.setSecretCertificate(target, first.certPem);
    // A client with no kubeconfig dials the (loopback) pod IP as is.
    const r = await probePod({ kube: { server: undefined } } as never, p as never, port, { certPem: first.certPem, ca: ca.certPem });
    assert.equal(r.kind, 'tls');
    const s = { ...series, pod: 'pg-7' };
    assert.equal(await value(globalMetrics, 'pgtls_served_certificate_expiry_timestamp_seconds', s), expirySeconds(first.certPem));
    assert.equal(await value(globalMetrics, 'pgtls_served_certificate_matches_secret', s), 1);
    const text = (await globalMetrics.text()).body;
    assert.match(text, /pgtls_served_certificate_expiry_timestamp_seconds\{kind="Postgres",namespace="demo",database="pg",pod="pg-7",alias="server"\} \d+/);
    globalMetrics.served.forget(target);
  });

  it('a new leader starts empty: losing the lease drops the served series', async () => {
    const m = new OperatorMetrics();
    m.setLeading(true);
    m.served.observe(target, await probeTls({ host: '127.0.0.1', port }));
    m.setLeading(false);
    assert.equal(await value(m, 'pgtls_served_certificate_expiry_timestamp_seconds', series), undefined);
    assert.equal(await value(m, 'pgtls_leader', {}), 0);
  });
});

describe('controller and work-queue metrics', () => {
  it('counts reconciles by result and errors per controller', async () => {
    const m = new OperatorMetrics();
    const t0 = Date.now() - 20;
    m.reconciled('provisioner-postgres', t0, 'success');
    m.reconciled('provisioner-postgres', t0, 'requeue');
    m.reconciled('provisioner-postgres', t0, 'error');
    m.reconciled('provisioner-postgres', t0, 'error');
    assert.equal(await value(m, 'pgtls_controller_reconcile_total', { controller: 'provisioner-postgres', result: 'error' }), 2);
    assert.equal(await value(m, 'pgtls_controller_reconcile_total', { controller: 'provisioner-postgres', result: 'success' }), 1);
    assert.equal(await value(m, 'pgtls_controller_reconcile_errors_total', { controller: 'provisioner-postgres' }), 2);
    const text = (await m.text()).body;
    assert.match(text, /pgtls_controller_reconcile_duration_seconds_count\{controller="provisioner-postgres"\} 4/);
  });

  it('follows a work queue: depth, adds, time waiting, time worked, retries', async () => {
    const m = new OperatorMetrics();
    const q = new WorkQueue({ baseDelayMs: 1, observer: m.queue('ops-postgres') });
    q.add('ns/a');
    q.add('ns/a'); // a duplicate is not a new add
    q.add('ns/b');
    assert.equal(await value(m, 'pgtls_workqueue_depth', { name: 'ops-postgres' }), 2);
    assert.equal(await value(m, 'pgtls_workqueue_adds_total', { name: 'ops-postgres' }), 2);
    await new Promise((r) => setTimeout(r, 15));
    const k = await q.get();
    assert.equal(await value(m, 'pgtls_workqueue_depth', { name: 'ops-postgres' }), 1);
    q.addRateLimited(k!);
    q.done(k!);
    assert.equal(await value(m, 'pgtls_workqueue_retries_total', { name: 'ops-postgres' }), 1);
    const text = (await m.text()).body;
    const sum = Number(/pgtls_workqueue_queue_duration_seconds_sum\{name="ops-postgres"\} ([\d.e-]+)/.exec(text)?.[1]);
    assert.ok(sum >= 0.01, `the key waited ≥ 10 ms, recorded ${sum}`);
    assert.match(text, /pgtls_workqueue_work_duration_seconds_count\{name="ops-postgres"\} 1/);
    q.shutDown();
    assert.equal(await value(m, 'pgtls_workqueue_depth', { name: 'ops-postgres' }), 0);
  });
});

describe('ops-request metrics', () => {
  const op = (name: string, type: string, phase?: string, conditions: { type: string; reason?: string; status: string; lastTransitionTime?: string }[] = []) => ({ metadata: { name, namespace: 'demo', uid: `uid-${name}` }, spec: { type }, status: { phase, conditions } });

  it('counts the leader\'s ops requests by kind, type and phase (Pending when no phase yet)', async () => {
    const m = new OperatorMetrics();
    const list = [op('a', 'ReconfigureTLS', 'Successful'), op('b', 'ReconfigureTLS', 'Successful'), op('c', 'ReconfigureTLS', 'Progressing'), op('d', 'Restart')];
    m.trackOpsRequests('PostgresOpsRequest', () => list);
    assert.equal(await value(m, 'pgtls_ops_requests', { kind: 'PostgresOpsRequest' }), undefined, 'a standby reports none');
    m.setLeading(true);
    assert.equal(await value(m, 'pgtls_ops_requests', { kind: 'PostgresOpsRequest', type: 'ReconfigureTLS', phase: 'Successful' }), 2);
    assert.equal(await value(m, 'pgtls_ops_requests', { kind: 'PostgresOpsRequest', type: 'ReconfigureTLS', phase: 'Progressing' }), 1);
    assert.equal(await value(m, 'pgtls_ops_requests', { kind: 'PostgresOpsRequest', type: 'Restart', phase: 'Pending' }), 1);
  });

  it('times each step from the previous one, also after a restart (from the conditions)', async () => {
    const m = new OperatorMetrics();
    const t = Date.parse('2025-01-01T00:00:00Z');
    const o = op('x', 'ReconfigureTLS', 'Progressing', [{ type: 'ReconfigureTLS', reason: 'ReconfigureTLS', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' }]);
    m.opsStep('PostgresOpsRequest', o, 'DatabasePauseSucceeded', t + 2000); // from the condition: 2 s
    m.opsStep('PostgresOpsRequest', o, 'ReloadPods', t + 2500); // from memory: 0.5 s
    const text = (await m.text()).body;
    assert.match(text, /pgtls_ops_request_step_duration_seconds_sum\{kind="PostgresOpsRequest",type="ReconfigureTLS",step="DatabasePauseSucceeded"\} 2\n/);
    assert.match(text, /pgtls_ops_request_step_duration_seconds_sum\{kind="PostgresOpsRequest",type="ReconfigureTLS",step="ReloadPods"\} 0.5\n/);
  });
});
