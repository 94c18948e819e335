// Issue 14: every database gets an AppBinding (appcatalog.appscode.com/v1alpha1,
// its CRD installed by `up`), and a client that knows nothing but the
// AppBinding connects with it: the Service and port, sslmode from the query,
// the CA bundle, the credentials secret and the client certificate's secret.
// ReconfigureTLS moves it: add → verify-full with the CA; remove → back to disable.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localAddress } from '../../src/local/net/resolve.ts';
import type { AppBinding } from '../../src/api/appcatalog.appscode.com/v1alpha1/appbinding.ts';
import { appBindingConnection, type AppBindingConnection } from '../../src/provisioner/specs/appbinding.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, run } from '../helpers/exec.ts';
import { makeCa, tmpDir } from '../helpers/tls.ts';
import { PG_BIN, secretFiles, secretText, waitOps } from '../helpers/ops.ts';

const NS = 'demo';

describe('AppBinding on the local cluster', { timeout: 25 * 60_000 }, () => {
  let c: TestCluster;

  /** The AppBinding as a consumer reads it (the raw object too, for the field checks). */
  const binding = async (name: string) => {
    const raw = JSON.parse(await c.kubectlOk(['-n', NS, 'get', 'appbinding', name, '-o', 'json'])) as AppBinding;
    return { raw, conn: appBindingConnection(raw) };
  };

  /** psql with only what the AppBinding says; the loopback mirror of its Service is the one thing the host adds. */
  const connectWith = async (conn: AppBindingConnection, sql: string) => {
    const addr = await localAddress(c.kube, { namespace: conn.namespace, service: conn.service, port: conn.port });
    const user = conn.secret ? await secretText(c, NS, conn.secret, 'username') : '';
    const password = conn.secret ? await secretText(c, NS, conn.secret, 'password') : '';
    const params: Record<string, string | number | undefined> = { host: conn.host, hostaddr: addr.host, port: addr.port, user, dbname: conn.database, sslmode: conn.sslMode, connect_timeout: 10 };
    if (conn.caPem) {
      params.sslrootcert = join(tmpDir(), 'ca.crt');
      writeFileSync(params.sslrootcert, conn.caPem, { mode: 0o600 });
    }
    if (conn.tlsSecret) {
      const f = await secretFiles(c, NS, conn.tlsSecret);
      params.sslcert = f['tls.crt'];
      params.sslkey = f['tls.key'];
    }
    const conninfo = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(' ');
    // The password through the environment; no ~/.postgresql defaults.
    const env = { ...process.env, PGPASSWORD: password, PGSSLCERT: '/nonexistent', PGSSLKEY: '/nonexistent', PGSSLROOTCERT: '/nonexistent' };
    const r = await run(join(PG_BIN, 'psql'), [conninfo, '-AtX', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `psql with the AppBinding (${conn.service}, sslmode=${conn.sslMode}): ${r.stderr}`);
    return r.stdout.trim();
  };

  const ops = async (name: string, tls: Record<string, unknown>) => {
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PostgresOpsRequest', metadata: { name, namespace: NS }, spec: { type: 'ReconfigureTLS', databaseRef: { name: 'pg' }, tls } }));
    const st = await waitOps(c, 'pgops', NS, name, 600_000);
    assert.equal(st.phase, 'Successful', JSON.stringify(st.conditions));
  };

  before(async () => {
    c = await startTestCluster();
    await c.createNamespace(NS);
    const ca = await makeCa(tmpDir(), '/CN=ca/O=kubedb');
    await c.kubectlOk(['-n', NS, 'create', 'secret', 'tls', 'pg-ca', `--cert=${ca.crt}`, `--key=${ca.key}`]);
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'pg-issuer', namespace: NS }, spec: { ca: { secretName: 'pg-ca' } } }));
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'pg', namespace: NS }, spec: { version: '15', replicas: 1, storageType: 'Ephemeral', deletionPolicy: 'WipeOut' } }));
    await eventually('pg Ready', async () => (await c.kubectlOk(['-n', NS, 'get', 'pg', 'pg', '-o', 'jsonpath={.status.phase}'])) === 'Ready', 600_000, 1000);
  });
  after(async () => {
    await c?.destroy();
  });

  it('up installs the CRD; a plain Postgres has one (type, version, sslmode=disable, its auth secret) and a client connects with it alone', async () => {
    assert.match(await c.kubectlOk(['get', 'crd', 'appbindings.appcatalog.appscode.com', '-o', 'name']), /appbindings\.appcatalog\.appscode\.com/);
    assert.match(await c.kubectlOk(['-n', NS, 'get', 'appbindings']), /^pg\s+kubedb\.com\/postgres\s+15\s/m);
    const { raw, conn } = await binding('pg');
    assert.deepEqual([raw.spec.type, raw.spec.version, raw.spec.appRef?.kind], ['kubedb.com/postgres', '15', 'Postgres']);
    assert.deepEqual([conn.sslMode, conn.caPem, conn.tlsSecret, conn.secret], ['disable', undefined, undefined, 'pg-auth']);
    assert.equal(await connectWith(conn, 'select 1'), '1');
  });

  it('ReconfigureTLS add: verify-full with its CA bundle and client certificate secret; the connection is TLS', async () => {
    await ops('add-tls', { sslMode: 'verify-full', clientAuthMode: 'cert', issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'pg-issuer' } });
    const { conn } = await binding('pg');
    assert.equal(conn.sslMode, 'verify-full');
    assert.match(conn.caPem ?? '', /BEGIN CERTIFICATE/);
    assert.equal(conn.tlsSecret, 'pg-client-cert');
    assert.equal(await connectWith(conn, 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'), 't');
  });

  it('ReconfigureTLS remove: back to sslmode=disable, no CA, no client certificate; the connection is plain', async () => {
    await ops('remove-tls', { clientAuthMode: 'md5', remove: true });
    const { conn } = await binding('pg');
    assert.deepEqual([conn.sslMode, conn.caPem, conn.tlsSecret], ['disable', undefined, undefined]);
    assert.equal(await connectWith(conn, 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'), 'f');
  });

  it('a PgBouncer in front has its own (kubedb.com/pgbouncer): its admin logs in with it', async () => {
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'kubedb.com/v1',
      kind: 'PgBouncer',
      metadata: { name: 'pb', namespace: NS },
      spec: { version: '1.18.0', replicas: 1, deletionPolicy: 'WipeOut', database: { syncUsers: true, databaseName: 'postgres', databaseRef: { name: 'pg', namespace: NS } } },
    }));
    await eventually('pb Ready', async () => (await c.kubectlOk(['-n', NS, 'get', 'pb', 'pb', '-o', 'jsonpath={.status.phase}'])) === 'Ready', 600_000, 1000);
    const { raw, conn } = await binding('pb');
    assert.equal(raw.spec.type, 'kubedb.com/pgbouncer');
    assert.deepEqual([conn.sslMode, conn.secret], ['disable', 'pb-auth']);
    // No database in the binding: libpq's default (the user's name) is PgBouncer's admin console for its admin.
    assert.match(await connectWith(conn, 'SHOW VERSION'), /PgBouncer/);
  });
});
