// Issue 5, Postgres: the guide's four ReconfigureTLS flows on the guide's
// 3-replica PostgreSQL 18.3, checked as the guide checks them, plus what
// KubeDB does not promise: no pod restarts, the new certificate proven on the
// wire, zero failed pgbench transactions while certificates rotate and the
// issuer (CA) changes, queueing/Skipped, rollback of a failing request, and an
// operator killed mid-request that finishes it after a restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { up } from '../../src/local/controlplane/cluster.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { CHART_NAMESPACE } from '../../src/install/local-chart.ts';
import { eventually, runOk } from '../helpers/exec.ts';
import { makeCa, tmpDir, x509Field } from '../helpers/tls.ts';
import { fixture, libpqEnv, opsStatus, pgbench, PG_BIN, podUids, secretFiles, secretText, servedSerial, waitOps, writeBundle } from '../helpers/ops.ts';

const NS = 'demo';
const PODS = ['ha-postgres-0', 'ha-postgres-1', 'ha-postgres-2'];
const SELECTOR = 'app.kubernetes.io/instance=ha-postgres';

describe('ReconfigureTLS for Postgres (guide flows, by reload)', { timeout: 30 * 60_000 }, () => {
  let c: TestCluster;
  let oldCa: string;
  let newCa: string;
  let uids: Record<string, string>;
  const timings: Record<string, number> = {};

  const exec = (pod: string, script: string) => c.kubectlOk(['-n', NS, 'exec', pod, '-c', 'postgres', '--', 'sh', '-c', script]);
  const applyOps = async (file: string, name: string) => {
    await c.kubectlOk(['apply', '-f', '-'], fixture(file));
    const st = await waitOps(c, 'pgops', NS, name);
    timings[name] = st.ms;
    assert.equal(st.phase, 'Successful', JSON.stringify(st.conditions, null, 1));
    return st;
  };
  const served = async () => Promise.all(PODS.map((p) => servedSerial(c, NS, p, 5432)));
  const clientTls = async (ca: string) => {
    const f = await secretFiles(c, NS, 'ha-postgres-client-cert');
    return { ca, cert: f['tls.crt']!, key: f['tls.key']! };
  };

  before(async () => {
    c = await startTestCluster();
    await c.createNamespace(NS);
    // The guide's recipe: CAs made with openssl, stored with kubectl create secret tls.
    const d1 = tmpDir();
    const d2 = tmpDir();
    const ca1 = await makeCa(d1, '/CN=ca/O=kubedb');
    const ca2 = await makeCa(d2, '/CN=ca-updated/O=kubedb-updated');
    oldCa = readFileSync(ca1.crt, 'utf8');
    newCa = readFileSync(ca2.crt, 'utf8');
    await c.kubectlOk(['create', 'secret', 'tls', 'postgres-ca', `--cert=${ca1.crt}`, `--key=${ca1.key}`, `--namespace=${NS}`]);
    await c.kubectlOk(['create', 'secret', 'tls', 'postgres-new-ca', `--cert=${ca2.crt}`, `--key=${ca2.key}`, `--namespace=${NS}`]);
    const issuer = (name: string, secret: string) => ({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name, namespace: NS }, spec: { ca: { secretName: secret } } });
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [issuer('pg-issuer', 'postgres-ca'), issuer('pg-new-issuer', 'postgres-new-ca')] }));
    await c.kubectlOk(['apply', '-f', '-'], fixture('postgres-ha-postgres.yaml'));
    await eventually('ha-postgres Ready', async () => (await c.kubectlOk(['-n', NS, 'get', 'pg', 'ha-postgres', '-o', 'jsonpath={.status.phase}'])) === 'Ready', 300_000, 1000);
    assert.match(await c.kubectlOk(['-n', NS, 'get', 'pg', 'ha-postgres']), /ha-postgres\s+18\.3\s+Ready/);
    assert.match(await exec('ha-postgres-0', 'psql -U postgres -h /var/run/postgresql -Atc "show ssl"'), /^off/);
    uids = await podUids(c, NS, SELECTOR);
  });
  after(async () => {
    if (Object.keys(timings).length) process.stderr.write(`ReconfigureTLS Postgres timings (ms): ${JSON.stringify(timings)}\n`);
    await c?.destroy();
  });

  it('add TLS (guide add-tls.yaml): Successful by reload; ssl on, certs under /tls/certs, client-certificate login with verify-full', async () => {
    const st = await applyOps('postgres-add-tls.yaml', 'add-tls');
    assert.match(await c.kubectlOk(['-n', NS, 'get', 'pgops', 'add-tls']), /add-tls\s+ReconfigureTLS\s+Successful/);
    // Each pod took the change by reload and the status says so.
    for (const p of PODS) assert.ok(st.conditions!.some((x) => x.type === `ReloadPod--${p}` && x.status === 'True'), p);
    for (const t of ['DatabasePauseSucceeded', 'CertificateSynced', 'UpdatePetSets', 'ReloadPods', 'UpdateDatabase', 'Successful']) {
      assert.ok(st.conditions!.some((x) => x.type === t && x.status === 'True'), t);
    }
    const ls = await exec('ha-postgres-0', 'ls -R /tls | grep -v "^\\.\\.\\|^$"');
    for (const f of ['client.crt', 'client.key', 'server.crt', 'server.key', 'tls.crt', 'tls.key', 'ca.crt']) assert.match(ls, new RegExp(f));
    const inPod = await exec(
      'ha-postgres-0',
      `psql -h ha-postgres.${NS}.svc -U postgres -d "sslmode=verify-full sslrootcert=/tls/certs/client/ca.crt sslcert=/tls/certs/client/client.crt sslkey=/tls/certs/client/client.key" -Atc "select ssl, version from pg_stat_ssl where pid = pg_backend_pid(); select name, setting from pg_settings where name in ('ssl','ssl_cert_file','ssl_key_file') order by name"`,
    );
    assert.match(inPod, /^t\|TLSv1\.3$/m);
    assert.match(inPod, /^ssl\|on$/m);
    assert.match(inPod, /^ssl_cert_file\|\/tls\/certs\/server\/server\.crt$/m);
    assert.match(inPod, /^ssl_key_file\|\/tls\/certs\/server\/server\.key$/m);
    // From outside the cluster: verify-full against the Service name, with the client certificate, no password.
    const env = await libpqEnv(c, NS, 'ha-postgres', 5432, await clientTls(writeBundle(oldCa)));
    assert.equal((await runOk(join(PG_BIN, 'psql'), ['-Atc', 'select current_user'], { env: { ...process.env, ...env } })).trim(), 'postgres');
    // The database object now describes TLS; it is resumed and Ready; no pod was restarted.
    const spec = JSON.parse(await c.kubectlOk(['-n', NS, 'get', 'pg', 'ha-postgres', '-o', 'json']));
    assert.equal(spec.spec.sslMode, 'verify-full');
    assert.equal(spec.spec.clientAuthMode, 'cert');
    assert.equal(spec.spec.tls.issuerRef.name, 'pg-issuer');
    assert.ok(!spec.status.conditions.some((x: { type: string }) => x.type === 'Paused'));
    assert.deepEqual(await podUids(c, NS, SELECTOR), uids);
    const repl = await exec('ha-postgres-0', 'psql -U postgres -h /var/run/postgresql -Atc "select count(*) from pg_stat_replication r join pg_stat_ssl s using (pid) where s.ssl"');
    await eventually('standbys stream over TLS', async () => (await exec('ha-postgres-0', 'psql -U postgres -h /var/run/postgresql -Atc "select count(*) from pg_stat_replication r join pg_stat_ssl s using (pid) where s.ssl"')).trim() === '2', 30_000, 500);
    void repl;
  });

  it('rotate (guide rotate-tls.yaml) under pgbench: new certificates served by every pod, 0 failed transactions, no restart', async () => {
    const before = await served();
    const beforeDates = await x509Field((await secretFiles(c, NS, 'ha-postgres-server-cert'))['tls.crt']!, '-serial');
    const env = await libpqEnv(c, NS, 'ha-postgres', 5432, await clientTls(writeBundle(oldCa)));
    await runOk(join(PG_BIN, 'pgbench'), ['-i', '-s', '1', '-q'], { env: { ...process.env, ...env } });
    const bench = pgbench(['-n', '-c', '4', '-j', '2', '-T', '12', '-S'], env);
    await new Promise((r) => setTimeout(r, 1500));
    await applyOps('postgres-rotate-tls.yaml', 'rotate-tls');
    const b = await bench;
    assert.equal(b.code, 0, b.output);
    assert.equal(b.failed, 0);
    assert.equal(b.aborted, 0);
    // It ran through the rotate (throughput is measured by bench/, not asserted here: load varies).
    assert.ok(b.transactions > 50, b.output);
    const after = await served();
    for (let i = 0; i < PODS.length; i++) assert.notEqual(after[i], before[i], `${PODS[i]} still serves ${before[i]}`);
    assert.notEqual(await x509Field((await secretFiles(c, NS, 'ha-postgres-server-cert'))['tls.crt']!, '-serial'), beforeDates);
    const serverSerial = (await x509Field((await secretFiles(c, NS, 'ha-postgres-server-cert'))['tls.crt']!, '-serial')).replace('serial=', '');
    for (const s of after) assert.equal(s.toUpperCase(), serverSerial.toUpperCase());
    assert.deepEqual(await podUids(c, NS, SELECTOR), uids);
  });

  it('a certificate renewed by cert-manager on its own (no ops request) is served by every pod within seconds, by reload', async () => {
    const before = await served();
    // What cert-manager does at renewBefore, triggered now: the Issuing condition.
    const cert = JSON.parse(await c.kubectlOk(['-n', NS, 'get', 'certificate', 'ha-postgres-server-cert', '-o', 'json']));
    cert.status.conditions.push({ type: 'Issuing', status: 'True', reason: 'Renewing', message: 'renewal', lastTransitionTime: new Date().toISOString() });
    await c.kubectlOk(['-n', NS, 'replace', '--subresource=status', '-f', '-'], JSON.stringify(cert));
    const t0 = Date.now();
    const serial = await eventually('the renewed certificate in the secret', async () => {
      const s = (await x509Field((await secretFiles(c, NS, 'ha-postgres-server-cert'))['tls.crt']!, '-serial')).replace('serial=', '');
      return s.toUpperCase() !== before[0]!.toUpperCase() ? s : undefined;
    }, 60_000, 250);
    await eventually('every pod to serve the renewed certificate', async () => (await served()).every((s) => s.toUpperCase() === serial.toUpperCase()), 60_000, 250);
    timings['renewal-served'] = Date.now() - t0;
    assert.deepEqual(await podUids(c, NS, SELECTOR), uids);
  });

  it('change issuer (guide change-issuer.yaml) under pgbench: trust both CAs, serve the new, drop the old; 0 failed transactions', async () => {
    // Clients trust both CAs, as they would during a CA migration.
    const env = await libpqEnv(c, NS, 'ha-postgres', 5432, await clientTls(writeBundle(oldCa, newCa)));
    const bench = pgbench(['-n', '-c', '4', '-j', '2', '-T', '12', '-S'], env);
    await new Promise((r) => setTimeout(r, 1500));
    const st = await applyOps('postgres-change-issuer.yaml', 'change-issuer');
    const b = await bench;
    assert.equal(b.code, 0, b.output);
    assert.equal(b.failed + b.aborted, 0, b.output);
    for (const t of ['TrustBundleUpdated', 'ReloadPods', 'DropOldCA']) assert.ok(st.conditions!.some((x) => x.type === t && x.status === 'True'), t);
    for (const s of ['ha-postgres-client-cert', 'ha-postgres-server-cert']) {
      const ca = (await secretFiles(c, NS, s))['ca.crt']!;
      assert.match(await runOk('openssl', ['x509', '-in', ca, '-noout', '-subject']), /subject=CN = ca-updated, O = kubedb-updated/);
    }
    // The servers trust only the new CA now.
    const podCa = await exec('ha-postgres-0', 'cat /tls/certs/server/ca.crt');
    assert.equal((podCa.match(/BEGIN CERTIFICATE/g) ?? []).length, 1);
    assert.equal(podCa.trim(), newCa.trim());
    // A client that trusts only the old CA is now refused; one with the new CA connects.
    const oldOnly = await libpqEnv(c, NS, 'ha-postgres', 5432, await clientTls(writeBundle(oldCa)));
    const r = await runOk(join(PG_BIN, 'psql'), ['-Atc', 'select 1'], { env: { ...process.env, ...oldOnly } }).catch((e: Error) => e.message);
    assert.match(r, /certificate verify failed/);
    const newOnly = await libpqEnv(c, NS, 'ha-postgres', 5432, await clientTls(writeBundle(newCa)));
    assert.equal((await runOk(join(PG_BIN, 'psql'), ['-Atc', 'select 1'], { env: { ...process.env, ...newOnly } })).trim(), '1');
    assert.deepEqual(await podUids(c, NS, SELECTOR), uids);
  });

  // Issue 11 item 6: on a ClusterIssuer, anyone who may ask it could put this database's marker in a
  // CN=postgres subject; there the client certificates come from a CA of the database's own.
  it('change issuer to a ClusterIssuer under pgbench, and back: a client CA of its own while on it; 0 failed transactions; a forged marker certificate refused', async () => {
    const d = tmpDir();
    const ca = await makeCa(d, '/CN=platform-ca/O=platform');
    const platformCa = readFileSync(ca.crt, 'utf8');
    await c.kubectlOk(['create', 'secret', 'tls', 'platform-ca', `--cert=${ca.crt}`, `--key=${ca.key}`, '--namespace=cert-manager']);
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'platform-ca' }, spec: { ca: { secretName: 'platform-ca' } } }));
    const changeIssuer = async (name: string, issuerRef: object) => {
      await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PostgresOpsRequest', metadata: { name, namespace: NS }, spec: { type: 'ReconfigureTLS', databaseRef: { name: 'ha-postgres' }, tls: { issuerRef } } }));
      const st = await waitOps(c, 'pgops', NS, name);
      timings[name] = st.ms;
      assert.equal(st.phase, 'Successful', JSON.stringify(st.conditions, null, 1));
      return st;
    };
    const both = writeBundle(newCa, platformCa);
    const bench = pgbench(['-n', '-c', '4', '-j', '2', '-T', '12', '-S'], await libpqEnv(c, NS, 'ha-postgres', 5432, await clientTls(both)));
    await new Promise((r) => setTimeout(r, 1500));
    const st = await changeIssuer('to-cluster-issuer', { name: 'platform-ca', kind: 'ClusterIssuer', apiGroup: 'cert-manager.io' });
    const b = await bench;
    assert.equal(b.code, 0, b.output);
    assert.equal(b.failed + b.aborted, 0, b.output);
    assert.ok(st.conditions!.some((x) => x.type === 'ReloadPods' && x.status === 'True'));
    // The client certificate's CA is the database's own; the server certificate's is the ClusterIssuer's.
    const subject = async (secret: string) => (await runOk('openssl', ['x509', '-in', (await secretFiles(c, NS, secret))['ca.crt']!, '-noout', '-subject', '-nameopt', 'RFC2253'])).trim();
    assert.equal(await subject('ha-postgres-client-cert'), 'subject=CN=ha-postgres client CA,OU=pgtls:demo/ha-postgres');
    assert.equal(await subject('ha-postgres-server-cert'), 'subject=O=platform,CN=platform-ca');
    assert.match(await exec('ha-postgres-0', 'psql -U postgres -h /var/run/postgresql -Atc "show ssl_ca_file"'), /^\/tls\/certs\/client\/ca\.crt$/m);
    const login = await libpqEnv(c, NS, 'ha-postgres', 5432, await clientTls(writeBundle(platformCa)));
    assert.equal((await runOk(join(PG_BIN, 'psql'), ['-Atc', 'select current_user'], { env: { ...process.env, ...login } })).trim(), 'postgres');
    await eventually('standbys stream over TLS', async () => (await exec('ha-postgres-0', 'psql -U postgres -h /var/run/postgresql -Atc "select count(*) from pg_stat_replication r join pg_stat_ssl s using (pid) where s.ssl"')).trim() === '2', 60_000, 500);
    // CN=postgres with the marker, signed by the ClusterIssuer outside pgtls: refused.
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'forged', namespace: NS }, spec: { secretName: 'forged', commonName: 'postgres', subject: { organizationalUnits: ['pgtls:demo/ha-postgres'] }, usages: ['digital signature', 'key encipherment', 'client auth'], issuerRef: { name: 'platform-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' } } }));
    await eventually('Secret forged', async () => (await secretText(c, NS, 'forged', 'tls.crt').catch(() => '')) || undefined, 60_000, 1000);
    const f = await secretFiles(c, NS, 'forged');
    const forged = { ...login, PGSSLCERT: f['tls.crt']!, PGSSLKEY: f['tls.key']! };
    const r = await runOk(join(PG_BIN, 'psql'), ['-Atc', 'select current_user'], { env: { ...process.env, ...forged } }).catch((e: Error) => e.message);
    assert.match(r, /unknown ca|certificate verify failed/);
    assert.deepEqual(await podUids(c, NS, SELECTOR), uids, 'by reload: no pod restarted');

    await changeIssuer('back-to-issuer', { name: 'pg-new-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' });
    assert.match(await exec('ha-postgres-0', 'psql -U postgres -h /var/run/postgresql -Atc "show ssl_ca_file"'), /^\/tls\/certs\/server\/ca\.crt$/m);
    const back = await libpqEnv(c, NS, 'ha-postgres', 5432, await clientTls(writeBundle(newCa)));
    assert.equal((await runOk(join(PG_BIN, 'psql'), ['-Atc', 'select current_user'], { env: { ...process.env, ...back } })).trim(), 'postgres');
    await eventually('standbys stream over TLS', async () => (await exec('ha-postgres-0', 'psql -U postgres -h /var/run/postgresql -Atc "select count(*) from pg_stat_replication r join pg_stat_ssl s using (pid) where s.ssl"')).trim() === '2', 60_000, 500);
  });

  it('queues requests: one Progressing at a time, an older pending request of the same type is Skipped', async () => {
    const rot = (name: string) => ({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PostgresOpsRequest', metadata: { name, namespace: NS }, spec: { type: 'ReconfigureTLS', databaseRef: { name: 'ha-postgres' }, tls: { rotateCertificates: true } } });
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [rot('q1'), rot('q2'), rot('q3')] }));
    let maxProgressing = 0;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const phases = await Promise.all(['q1', 'q2', 'q3'].map(async (n) => (await opsStatus(c, 'pgops', NS, n)).phase));
      maxProgressing = Math.max(maxProgressing, phases.filter((p) => p === 'Progressing').length);
      if (phases.every((p) => p === 'Successful' || p === 'Skipped' || p === 'Failed') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(maxProgressing <= 1, true);
    assert.equal((await opsStatus(c, 'pgops', NS, 'q3')).phase, 'Successful');
    const q2 = await opsStatus(c, 'pgops', NS, 'q2');
    assert.equal(q2.phase, 'Skipped');
    assert.match(q2.conditions!.find((x) => x.type === 'Skipped')!.message!, new RegExp(`skipped as ${NS}/q3 is the most updated PostgresOpsRequest of type ReconfigureTLS`));
  });

  it('a failing request (an issuer that cannot issue) times out, restores the last working TLS, resumes the database', async () => {
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'broken-issuer', namespace: NS }, spec: { ca: { secretName: 'does-not-exist' } } }));
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'ops.kubedb.com/v1alpha1',
      kind: 'PostgresOpsRequest',
      metadata: { name: 'bad-issuer', namespace: NS },
      spec: { type: 'ReconfigureTLS', databaseRef: { name: 'ha-postgres' }, timeout: '20s', tls: { issuerRef: { name: 'broken-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } } },
    }));
    const st = await waitOps(c, 'pgops', NS, 'bad-issuer');
    assert.equal(st.phase, 'Failed');
    const main = st.conditions!.find((x) => x.type === 'ReconfigureTLS')!;
    assert.equal(main.status, 'False');
    assert.match(main.message!, /did not finish within 20s/);
    // Restored and verified before Failed was written: the request's events say so.
    const events = await c.kubectlOk(['-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=bad-issuer', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(events, /RolledBack/);
    // Putting the Certificates back makes cert-manager re-issue from the database's issuer; the
    // provisioner then rolls that certificate out like a renewal: every pod serves one certificate,
    // the one in the secret, from the CA of the issuer the database still names.
    const secretSerial = async () => (await x509Field((await secretFiles(c, NS, 'ha-postgres-server-cert'))['tls.crt']!, '-serial')).replace('serial=', '').toUpperCase();
    await eventually('every pod to serve the secret\'s certificate', async () => {
      const want = await secretSerial();
      return (await served()).every((s) => s.toUpperCase() === want);
    }, 60_000, 500);
    assert.match(await x509Field((await secretFiles(c, NS, 'ha-postgres-server-cert'))['tls.crt']!, '-issuer'), /CN=ca-updated/);
    const db = JSON.parse(await c.kubectlOk(['-n', NS, 'get', 'pg', 'ha-postgres', '-o', 'json']));
    assert.equal(db.spec.tls.issuerRef.name, 'pg-new-issuer');
    assert.ok(!db.status.conditions.some((x: { type: string }) => x.type === 'Paused'));
    await eventually('ha-postgres Ready again', async () => (await c.kubectlOk(['-n', NS, 'get', 'pg', 'ha-postgres', '-o', 'jsonpath={.status.phase}'])) === 'Ready', 60_000, 1000);
  });

  it('an operator killed in the middle of a request finishes it after a restart', async () => {
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PostgresOpsRequest', metadata: { name: 'rotate-crash', namespace: NS }, spec: { type: 'ReconfigureTLS', databaseRef: { name: 'ha-postgres' }, tls: { rotateCertificates: true } } }));
    await eventually('the request to pause the database', async () => (await opsStatus(c, 'pgops', NS, 'rotate-crash')).conditions?.some((x) => x.type === 'DatabasePauseSucceeded'), 60_000, 50);
    if (c.operatorMode === 'chart') {
      // In-cluster: the leader's pod is killed (no grace, no Lease release); the other replica takes over.
      const lease = JSON.parse(await c.kubectlOk(['-n', CHART_NAMESPACE, 'get', 'lease', 'pgtls-operator', '-o', 'json'])) as { spec: { holderIdentity?: string } };
      assert.ok(lease.spec.holderIdentity, 'a leader');
      await c.kubectlOk(['-n', CHART_NAMESPACE, 'delete', 'pod', lease.spec.holderIdentity, '--grace-period=0', '--force']);
    } else {
      const pid = Number(readFileSync(join(c.layout.pids, 'operator.pid'), 'utf8'));
      process.kill(-pid, 'SIGKILL');
      await up(c.layout, { log: () => undefined });
    }
    const st = await waitOps(c, 'pgops', NS, 'rotate-crash');
    assert.equal(st.phase, 'Successful', JSON.stringify(st.conditions));
    const serial = (await x509Field((await secretFiles(c, NS, 'ha-postgres-server-cert'))['tls.crt']!, '-serial')).replace('serial=', '');
    for (const s of await served()) assert.equal(s.toUpperCase(), serial.toUpperCase());
    assert.deepEqual(await podUids(c, NS, SELECTOR), uids);
  });

  it('remove TLS (guide remove-tls.yaml): password login again, ssl off, PostgreSQL defaults back', async () => {
    await applyOps('postgres-remove-tls.yaml', 'remove-tls');
    const password = await secretText(c, NS, 'ha-postgres-auth', 'password');
    const env = await libpqEnv(c, NS, 'ha-postgres', 5432, undefined, password);
    const out = await runOk(join(PG_BIN, 'psql'), ['-Atc', "select name, setting from pg_settings where name in ('ssl','ssl_cert_file','ssl_key_file') order by name"], { env: { ...process.env, ...env } });
    assert.equal(out.trim(), 'ssl|off\nssl_cert_file|server.crt\nssl_key_file|server.key');
    for (const s of await served()) assert.equal(s, 'no-ssl');
    const db = JSON.parse(await c.kubectlOk(['-n', NS, 'get', 'pg', 'ha-postgres', '-o', 'json']));
    assert.equal(db.spec.sslMode, 'disable');
    assert.equal(db.spec.clientAuthMode, 'md5');
    assert.equal(db.spec.tls, undefined);
    assert.deepEqual(await podUids(c, NS, SELECTOR), uids);
    await eventually('standbys stream again', async () => (await exec('ha-postgres-0', 'psql -U postgres -h /var/run/postgresql -Atc "select count(*) from pg_stat_replication where state = \'streaming\'"')).trim() === '2', 30_000, 500);
  });
});
