// Issue 4: PgBouncer and Pgpool provisioned by the operator on a real local
// cluster, without and with TLS, in front of KubeDB Postgres backends with and
// without TLS; clients use psql from this process on loopback addresses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { caIssuer, certFiles, execIn, password, psql, psqlOk, secretData, setup, status, waitReady, apply, type Env } from './fixtures/provisioner/harness.ts';
import { eventually, runOk } from '../helpers/exec.ts';

const NS = 'demo';
const storage = { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };
const issuerRef = { name: 'ca-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' };

const postgres = (name: string, tls: boolean) => ({
  apiVersion: 'kubedb.com/v1',
  kind: 'Postgres',
  metadata: { name, namespace: NS },
  spec: {
    version: '15',
    replicas: 1,
    storageType: 'Durable',
    storage,
    deletionPolicy: 'WipeOut',
    ...(tls ? { sslMode: 'verify-full', clientAuthMode: 'md5', tls: { issuerRef } } : {}),
  },
});

// The guide's `pb`, pointed at our backends and catalog version.
const pgbouncer = (name: string, backend: string, tls: boolean) => ({
  apiVersion: 'kubedb.com/v1',
  kind: 'PgBouncer',
  metadata: { name, namespace: NS },
  spec: {
    replicas: 1,
    version: '1.18.0',
    database: { syncUsers: true, databaseName: 'postgres', databaseRef: { name: backend, namespace: NS } },
    connectionPool: { poolMode: 'session', port: 5432, reservePoolSize: 5, maxClientConnections: 87, defaultPoolSize: 2, minPoolSize: 1, authType: 'md5' },
    deletionPolicy: 'WipeOut',
    ...(tls ? { sslMode: 'verify-full', tls: { issuerRef } } : {}),
  },
});

// The guide's `pgpool`; with TLS as its add-TLS request leaves it (require, cert), from its own Issuer.
const pgpool = (name: string, backend: string, tls: boolean, ref: object = { ...issuerRef, name: 'pp-issuer' }) => ({
  apiVersion: 'kubedb.com/v1alpha2',
  kind: 'Pgpool',
  metadata: { name, namespace: NS },
  spec: {
    version: '4.3.5',
    replicas: 1,
    postgresRef: { name: backend, namespace: NS },
    deletionPolicy: 'WipeOut',
    ...(tls ? { sslMode: 'require', clientAuthMode: 'cert', tls: { issuerRef: ref } } : {}),
  },
});

const pemCount = (s: string) => (s.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;

describe('provisioner: PgBouncer and Pgpool', { timeout: 20 * 60_000 }, () => {
  let env: Env;
  let sharedCa: string;

  before(async () => {
    // Every pod the operator makes here must pass Pod Security `restricted`.
    env = await setup(NS, { restricted: true });
    await caIssuer(env, NS, 'ca-issuer');
    await caIssuer(env, NS, 'pp-issuer', '/CN=pp-ca/O=kubedb');
    // A ClusterIssuer every namespace may ask to sign (its CA Secret in cert-manager's namespace).
    sharedCa = await caIssuer(env, 'cert-manager', 'shared-ca', '/CN=shared-ca/O=platform', 'ClusterIssuer');
    for (const o of [
      postgres('pg-plain', false),
      postgres('pg-tls', true),
      pgbouncer('pb-plain', 'pg-plain', false),
      pgbouncer('pb-tls', 'pg-tls', true),
      pgpool('pp-plain', 'pg-plain', false),
      pgpool('pp-tls', 'pg-tls', true),
      pgpool('pp-ci', 'pg-tls', true, { name: 'shared-ca', kind: 'ClusterIssuer', apiGroup: 'cert-manager.io' }),
      // A CN=postgres client certificate the same ClusterIssuer signs for anyone who asks (here, this namespace).
      { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'minted-postgres', namespace: NS }, spec: { secretName: 'minted-postgres', commonName: 'postgres', usages: ['digital signature', 'key encipherment', 'client auth'], issuerRef: { name: 'shared-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' } } },
    ]) {
      await apply(env, o);
    }
  });

  after(async () => {
    await env?.destroy();
  });

  it('the backends and PgBouncers reach Ready (kubectl get pg/pb)', async () => {
    await waitReady(env, 'pg', NS, 'pg-plain');
    await waitReady(env, 'pg', NS, 'pg-tls');
    await waitReady(env, 'pb', NS, 'pb-plain');
    await waitReady(env, 'pb', NS, 'pb-tls');
    assert.equal(await status(env, 'pb', NS, 'pb-tls'), 'Ready');
  });

  it('pgbouncer.ini: no client_tls_* without TLS; the guide lines with TLS', async () => {
    const plain = await execIn(env, NS, 'pb-plain-0', ['cat', '/etc/config/pgbouncer.ini']);
    assert.doesNotMatch(plain, /client_tls_/);
    assert.doesNotMatch(plain, /server_tls_/, 'the plain backend gets no server_tls_*');
    const tls = await execIn(env, NS, 'pb-tls-0', ['cat', '/etc/config/pgbouncer.ini']);
    for (const line of [
      'client_tls_sslmode = verify-full',
      'client_tls_ca_file = /var/run/pgbouncer/tls/serving/server/ca.crt',
      'client_tls_key_file = /var/run/pgbouncer/tls/serving/server/tls.key',
      'client_tls_cert_file = /var/run/pgbouncer/tls/serving/server/tls.crt',
      'server_tls_sslmode = verify-full',
    ]) {
      assert.ok(tls.split('\n').includes(line), `missing "${line}"`);
    }
    assert.match(tls, /^postgres = host=pg-tls\.demo\.svc port=5432 dbname=postgres$/m);
    // PgBouncer listens on every address of its own network namespace (port-forward dials localhost);
    // only a loopback pod IP (pods sharing the host's network) narrows it to that IP.
    const pod = JSON.parse(await env.c.kubectlOk(['get', 'pod', 'pb-tls-0', '-n', NS, '-o', 'json'])) as { status: { podIP: string } };
    assert.match(tls, /^%include \/var\/run\/pgbouncer\/run\/listen\.ini$/m);
    const local = await execIn(env, NS, 'pb-tls-0', ['cat', '/var/run/pgbouncer/run/listen.ini']);
    assert.equal(local.trim(), `listen_addr = ${pod.status.podIP.startsWith('127.') ? pod.status.podIP : '*'}`);
  });

  it('a write through PgBouncer without TLS lands in Postgres', async () => {
    const pw = await password(env, NS, 'pg-plain-auth');
    const via = { namespace: NS, service: 'pb-plain', port: 5432, user: 'postgres', password: pw, sslmode: 'disable' };
    await psqlOk(env, via, 'CREATE TABLE IF NOT EXISTS t_pb (v text); INSERT INTO t_pb VALUES ($$through-pb-plain$$)');
    const direct = { namespace: NS, service: 'pg-plain', port: 5432, user: 'postgres', password: pw, sslmode: 'disable' };
    assert.equal(await psqlOk(env, direct, 'SELECT v FROM t_pb'), 'through-pb-plain');
  });

  it('PgBouncer with TLS: verify-full through the Service with the client cert, TLS to the backend, the write lands', async () => {
    const pw = await password(env, NS, 'pg-tls-auth');
    const client = await certFiles(env, NS, 'pb-tls-client-cert');
    const via = { namespace: NS, service: 'pb-tls', port: 5432, user: 'postgres', password: pw, sslmode: 'verify-full', ca: client.ca, cert: client };
    // client_tls_sslmode verify-full: PgBouncer asks every client for a certificate.
    const noCert = await psql(env, { ...via, cert: undefined }, 'SELECT 1');
    assert.notEqual(noCert.code, 0, 'verify-full without a client certificate must fail');
    const plain = await psql(env, { ...via, sslmode: 'disable', cert: undefined }, 'SELECT 1');
    assert.notEqual(plain.code, 0, 'plain text must be refused');
    await psqlOk(env, via, 'CREATE TABLE IF NOT EXISTS t_pb (v text); INSERT INTO t_pb VALUES ($$through-pb-tls$$)');
    // The backend connection PgBouncer opened is TLS (pg_stat_ssl of the session's backend).
    assert.equal(await psqlOk(env, via, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'), 't');
    const pgCa = await certFiles(env, NS, 'pg-tls-client-cert');
    const direct = { namespace: NS, service: 'pg-tls', port: 5432, user: 'postgres', password: pw, sslmode: 'verify-full', ca: pgCa.ca };
    assert.equal(await psqlOk(env, direct, 'SELECT v FROM t_pb'), 'through-pb-tls');
  });

  it('PgBouncer RELOAD re-reads the mounted ini through the start-up include', async () => {
    const admin = await password(env, NS, 'pb-plain-auth');
    const t = { namespace: NS, service: 'pb-plain', port: 5432, user: 'pgbouncer', password: admin, dbname: 'pgbouncer', sslmode: 'disable' };
    await psqlOk(env, t, 'RELOAD');
    const cfg = await psqlOk(env, t, 'SHOW CONFIG');
    const pod = JSON.parse(await env.c.kubectlOk(['get', 'pod', 'pb-plain-0', '-n', NS, '-o', 'json'])) as { status: { podIP: string } };
    // Every address of the pod's own network namespace; only a loopback pod IP (pods sharing the host's network) narrows it.
    const listen = pod.status.podIP.startsWith('127.') ? pod.status.podIP : '*';
    assert.ok(cfg.split('\n').some((l) => l.startsWith(`listen_addr|${listen}|`)), `listen_addr stays ${listen} after RELOAD`);
    assert.ok(cfg.split('\n').some((l) => l.startsWith('max_client_conn|87|')), 'the mounted ini is in effect');
  });

  it('the Pgpools reach Ready (kubectl get pp)', async () => {
    await waitReady(env, 'pp', NS, 'pp-plain');
    await waitReady(env, 'pp', NS, 'pp-tls');
  });

  it("pgpool.conf: ssl = 'off' without TLS; with TLS ssl = on and the guide's paths, ca.pem = own CA then the backend's", async () => {
    const plain = await execIn(env, NS, 'pp-plain-0', ['cat', '/opt/pgpool-II/etc/pgpool.conf']);
    for (const line of ["ssl = 'off'", 'port = 9999', 'pcp_port = 9595', "backend_hostname0 = 'pg-plain.demo.svc'", 'backend_port0 = 5432']) {
      assert.ok(plain.split('\n').includes(line), `missing "${line}"`);
    }
    const tls = await execIn(env, NS, 'pp-tls-0', ['cat', '/opt/pgpool-II/etc/pgpool.conf']);
    for (const line of ['ssl = on', "ssl_ca_cert = '/opt/pgpool-II/tls/ca.pem'", "ssl_key = '/opt/pgpool-II/tls/tls.key'", "ssl_cert = '/opt/pgpool-II/tls/tls.crt'"]) {
      assert.ok(tls.split('\n').includes(line), `missing "${line}"`);
    }
    const caPem = await execIn(env, NS, 'pp-tls-0', ['cat', '/opt/pgpool-II/tls/ca.pem']);
    assert.equal(pemCount(caPem), 2);
    const subject = (await execIn(env, NS, 'pp-tls-0', ['openssl', 'x509', '-in', '/opt/pgpool-II/tls/ca.pem', '-noout', '-subject', '-nameopt', 'RFC2253'])).trim();
    assert.equal(subject, 'subject=O=kubedb,CN=pp-ca');
    const ls = await execIn(env, NS, 'pp-tls-0', ['ls', '/opt/pgpool-II/tls']);
    assert.deepEqual(ls.trim().split(/\s+/).sort(), ['ca.pem', 'tls.crt', 'tls.key']);
  });

  it('a write through Pgpool without TLS lands in Postgres', async () => {
    const pw = await password(env, NS, 'pg-plain-auth');
    const via = { namespace: NS, service: 'pp-plain', port: 9999, user: 'postgres', password: pw, sslmode: 'disable' };
    await psqlOk(env, via, 'CREATE TABLE IF NOT EXISTS t_pp (v text); INSERT INTO t_pp VALUES ($$through-pp-plain$$)');
    const direct = { namespace: NS, service: 'pg-plain', port: 5432, user: 'postgres', password: pw, sslmode: 'disable' };
    assert.equal(await psqlOk(env, direct, 'SELECT v FROM t_pp'), 'through-pp-plain');
  });

  it('Pgpool with TLS: verify-full with the client certificate (CN=postgres, no password), TLS to the backend, the write lands', async () => {
    const client = await certFiles(env, NS, 'pp-tls-client-cert');
    const via = { namespace: NS, service: 'pp-tls', port: 9999, user: 'postgres', sslmode: 'verify-full', ca: client.ca, cert: client };
    const noCert = await psql(env, { ...via, cert: undefined }, 'SELECT 1');
    assert.notEqual(noCert.code, 0, 'clientAuthMode cert without a certificate must fail');
    await psqlOk(env, via, 'CREATE TABLE IF NOT EXISTS t_pp (v text); INSERT INTO t_pp VALUES ($$through-pp-tls$$)');
    // pg-tls rejects plain text (hostnossl reject), so Pgpool's backend link verified pg-tls's CA from ca.pem.
    assert.equal(await psqlOk(env, via, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'), 't');
    const pw = await password(env, NS, 'pg-tls-auth');
    const pgCa = await certFiles(env, NS, 'pg-tls-client-cert');
    const direct = { namespace: NS, service: 'pg-tls', port: 5432, user: 'postgres', password: pw, sslmode: 'verify-full', ca: pgCa.ca };
    assert.equal(await psqlOk(env, direct, 'SELECT v FROM t_pp'), 'through-pp-tls');
  });

  // Issue 11 item 6 on Pgpool: it logs a client certificate in by CN alone, so on a ClusterIssuer it gets a client CA of its own.
  it('Pgpool on a ClusterIssuer: a client CA of its own signs its client certificate, and ca.pem trusts that CA, not the ClusterIssuer\'s', async () => {
    await waitReady(env, 'pp', NS, 'pp-ci');
    const issuers = (await env.c.kubectlOk(['get', 'issuers.cert-manager.io', '-n', NS, '-o', 'jsonpath={.items[*].metadata.name}'])).split(/\s+/);
    for (const i of ['pp-ci-client-ca-selfsigned', 'pp-ci-client-ca-issuer']) assert.ok(issuers.includes(i), `Issuer ${i} in ${issuers.join(' ')}`);
    const subjectOf = (file: string) => runOk('openssl', ['x509', '-in', file, '-noout', '-subject', '-nameopt', 'RFC2253']);
    const client = await certFiles(env, NS, 'pp-ci-client-cert');
    assert.equal((await subjectOf(client.ca)).trim(), 'subject=CN=pp-ci client CA,OU=pgtls:demo/pp-ci');
    const server = await certFiles(env, NS, 'pp-ci-server-cert');
    assert.equal(readFileSync(server.ca, 'utf8').trim(), readFileSync(sharedCa, 'utf8').trim(), 'the server certificate is the ClusterIssuer\'s');
    const caPem = await execIn(env, NS, 'pp-ci-0', ['cat', '/opt/pgpool-II/tls/ca.pem']);
    assert.equal(pemCount(caPem), 2, 'its own client CA, then the backend\'s');
    assert.ok(caPem.startsWith(readFileSync(client.ca, 'utf8').trim()), 'ca.pem starts with its own client CA');
    assert.ok(!caPem.includes(readFileSync(sharedCa, 'utf8').trim().split('\n')[1]!), 'the ClusterIssuer\'s CA is not trusted for clients');
  });

  it('through that Pgpool its own client certificate logs in; a CN=postgres certificate the same ClusterIssuer signed for someone else is refused', async () => {
    const client = await certFiles(env, NS, 'pp-ci-client-cert');
    const server = await certFiles(env, NS, 'pp-ci-server-cert');
    const via = { namespace: NS, service: 'pp-ci', port: 9999, user: 'postgres', sslmode: 'verify-full', ca: server.ca, cert: client };
    assert.equal(await psqlOk(env, via, 'SELECT current_user'), 'postgres');
    await eventually('Certificate minted-postgres issued', async () => (await secretData(env, NS, 'minted-postgres').catch(() => undefined))?.['tls.crt'] || undefined, 60_000, 1000);
    const minted = await certFiles(env, NS, 'minted-postgres');
    const refused = await psql(env, { ...via, cert: minted }, 'SELECT current_user');
    assert.notEqual(refused.code, 0, 'a certificate minted for someone else must not log in');
    assert.match(refused.stderr, /unknown ca/);
  });
});
