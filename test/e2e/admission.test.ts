// Issue 4: the CRDs, the catalog and the admission webhook on a real API
// server. The webhook runs in-process on loopback with a serving certificate
// issued by cert-manager, as an operator would deploy it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWebhookServer, type WebhookServer } from '../../src/webhook/server.ts';
import { kubeLookups } from '../../src/webhook/kube-lookups.ts';
import { registerWebhooks } from '../../src/webhook/registration.ts';
import { ensureWebhookCertificate, writeServingFiles } from '../../src/operator/webhook-cert.ts';
import { repoRoot } from '../../src/util/repo.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/exec.ts';
import { tmpDir } from '../helpers/tls.ts';
import { INVALID_CASES } from './fixtures/invalid-cases.ts';

const NS = 'demo';
const SYS = 'pgtls-system';
const fixtureText = (name: string) => readFileSync(join(repoRoot(), 'test/e2e/fixtures', name), 'utf8');

type Obj = { metadata: { name: string }; spec: Record<string, unknown>; status?: { conditions?: { type: string }[]; phase?: string } };

describe('admission: CRDs, catalog and webhook on a real API server', { timeout: 15 * 60_000 }, () => {
  let c: TestCluster;
  let hook: WebhookServer;
  const apply = (obj: unknown) => c.kubectl(['apply', '-f', '-'], typeof obj === 'string' ? obj : JSON.stringify(obj));
  const applyOk = async (obj: unknown) => {
    const r = await apply(obj);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const getJson = async <T = Obj>(kind: string, name: string): Promise<T> => JSON.parse(await c.kubectlOk(['-n', NS, 'get', kind, name, '-o', 'json'])) as T;

  before(async () => {
    // Without the operator: this file runs the webhook in-process (and no controllers touch its objects).
    c = await startTestCluster({ operator: false });
    // up installed the CRDs and the catalog; the operator's namespace comes with the operator, so create it here.
    await c.createNamespace(SYS);
    // The operator's own certificate chain: SelfSigned Issuer → CA Certificate → CA Issuer → serving Certificate for 127.0.0.1.
    const secret = await ensureWebhookCertificate(c.kube, { namespace: SYS, ipAddresses: ['127.0.0.1'] });
    const served = { ...writeServingFiles(tmpDir('pgtls-webhook-'), secret), caBundle: secret.caBundle };
    hook = await startWebhookServer({
      certFile: served.certFile,
      keyFile: served.keyFile,
      lookups: kubeLookups(c.kube),
      log: (m) => process.stderr.write(`[webhook] ${m}\n`),
    });
    await registerWebhooks(c.kube, { endpoint: { url: hook.url }, caBundle: served.caBundle });
    await c.createNamespace(NS);
    // The API server picks up new webhook configurations asynchronously; wait until defaulting shows.
    await eventually('the mutating webhook to be called', async () => {
      const r = await c.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], fixtureText('postgres-ha-postgres.yaml'));
      return r.code === 0 && (JSON.parse(r.stdout) as Obj).spec.sslMode === 'disable';
    }, 60_000, 500);
  });
  after(async () => {
    await hook?.close();
    await c?.destroy();
  });

  it('installs the catalog, listed with KubeDB\'s columns (VERSION, DISTRIBUTION, DB_IMAGE, DEPRECATED)', async () => {
    const table = (await c.kubectlOk(['get', 'postgresversions'])).trim().split('\n');
    assert.match(table[0]!, /^NAME\s+VERSION\s+DISTRIBUTION\s+DB_IMAGE\s+DEPRECATED\s+AGE$/);
    assert.ok(table.some((l) => /^15\s+15\.18\s+Official\s+localhost\/pgtls\/postgres:15\s+\S*\s*\S+$/.test(l)), table.join('\n'));
    assert.ok(table.some((l) => /^18\.3\s+18\.3\s+Official\s+localhost\/pgtls\/postgres:18\.3\s+\S*\s*\S+$/.test(l)), table.join('\n'));
    const pb = await c.kubectlOk(['get', 'pbversion']);
    assert.match(pb, /^NAME\s+VERSION\s+PGBOUNCER_IMAGE\s+DEPRECATED\s+AGE$/m);
    assert.match(pb, /1\.18\.0\s+1\.18\.0\s+localhost\/pgtls\/pgbouncer:1\.18\.0/);
    const pp = await c.kubectlOk(['get', 'ppversion']);
    assert.match(pp, /^NAME\s+VERSION\s+PGPOOL_IMAGE\s+DEPRECATED\s+AGE$/m);
    assert.match(pp, /4\.3\.5\s+4\.3\.5\s+localhost\/pgtls\/pgpool:4\.3\.5/);
  });

  it('accepts the Postgres guide manifest unchanged and returns it defaulted', async () => {
    await applyOk(fixtureText('postgres-ha-postgres.yaml'));
    const pg = await getJson('pg', 'ha-postgres');
    assert.equal(pg.spec.sslMode, 'disable');
    assert.equal(pg.spec.clientAuthMode, 'scram');
    assert.equal(pg.spec.deletionPolicy, 'WipeOut');
    assert.deepEqual(pg.spec.authSecret, { name: 'ha-postgres-auth', kind: 'Secret' });
    assert.deepEqual(pg.spec.healthChecker, { periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 1 });
    const yaml = await c.kubectlOk(['-n', NS, 'get', 'pg', 'ha-postgres', '-o', 'yaml']);
    assert.match(yaml, /sslMode: disable/);
    assert.match(yaml, /clientAuthMode: scram/);
  });

  it('defaults a TLS Postgres: verify-full, md5 for 15, certificates with <db>-<alias>-cert secrets, Delete', async () => {
    await applyOk({
      apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'pg-tls', namespace: NS },
      spec: { version: '15', storage: { resources: { requests: { storage: '1Gi' } } }, tls: { issuerRef: { name: 'pg-issuer', kind: 'Issuer' }, certificates: [{ alias: 'client', subject: { organizations: ['postgres'] } }] } },
    });
    const pg = await getJson('pg', 'pg-tls');
    assert.equal(pg.spec.sslMode, 'verify-full');
    assert.equal(pg.spec.clientAuthMode, 'md5');
    assert.equal(pg.spec.deletionPolicy, 'Delete');
    assert.equal(pg.spec.replicas, 1);
    assert.equal(pg.spec.storageType, 'Durable');
    assert.deepEqual(pg.spec.tls, {
      issuerRef: { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' },
      certificates: [
        { alias: 'client', subject: { organizations: ['postgres'] }, secretName: 'pg-tls-client-cert' },
        { alias: 'server', secretName: 'pg-tls-server-cert' },
        { alias: 'metrics-exporter', secretName: 'pg-tls-metrics-exporter-cert' },
      ],
    });
  });

  it('refuses the guides\' PgBouncer 1.24.0 and Pgpool 4.6.0, naming the versions it can run', async () => {
    const pb = await apply(fixtureText('pgbouncer-pb.yaml'));
    assert.notEqual(pb.code, 0);
    assert.match(pb.stderr, /The PgBouncer "pb" is invalid: spec\.version: Unsupported value: "1\.24\.0": supported values: "1\.18\.0", "1\.24\.1"/);
    const pp = await apply(fixtureText('pgpool-pgpool.yaml'));
    assert.notEqual(pp.code, 0);
    assert.match(pp.stderr, /The Pgpool "pgpool" is invalid: spec\.version: Unsupported value: "4\.6\.0": supported values: "4\.3\.5", "4\.6\.1"/);
  });

  it('accepts the PgBouncer and Pgpool guide manifests with catalog versions, defaulted', async () => {
    await applyOk(fixtureText('pgbouncer-pb-catalog.yaml'));
    const pb = await getJson('pb', 'pb');
    assert.equal(pb.spec.sslMode, 'disable');
    assert.deepEqual(pb.spec.authSecret, { name: 'pb-auth', kind: 'Secret' });
    const pool = pb.spec.connectionPool as Record<string, unknown>;
    assert.equal(pool.maxClientConnections, 87);
    assert.equal(pool.statsPeriodSeconds, 60);
    assert.equal(pool.reservePoolTimeoutSeconds, 5);
    await applyOk(fixtureText('pgpool-pgpool-catalog.yaml'));
    const pp = await getJson('pp', 'pgpool');
    assert.equal(pp.spec.clientAuthMode, 'md5');
    assert.equal(pp.spec.sslMode, 'disable');
    assert.deepEqual(pp.spec.authSecret, { name: 'pgpool-auth', kind: 'Secret' });
  });

  it('kubectl get pg shows VERSION, STATUS, AGE; kubectl get pp TYPE, VERSION, STATUS, AGE', async () => {
    const [header, ...rows] = (await c.kubectlOk(['-n', NS, 'get', 'pg'])).trim().split('\n');
    assert.match(header!, /^NAME\s+VERSION\s+STATUS\s+AGE$/);
    assert.ok(rows.some((r) => /^ha-postgres\s+18\.3\s+\S+$/.test(r)), rows.join('\n'));
    // The Pgpool guide's `kubectl get pp`: NAME TYPE VERSION STATUS AGE.
    const [ppHeader, ...ppRows] = (await c.kubectlOk(['-n', NS, 'get', 'pp'])).trim().split('\n');
    assert.match(ppHeader!, /^NAME\s+TYPE\s+VERSION\s+STATUS\s+AGE$/);
    assert.ok(ppRows.some((r) => /^pgpool\s+kubedb\.com\/v1alpha2\s+4\.3\.5\s+/.test(r)), ppRows.join('\n'));
    // kubectl get all includes the datastore kinds (category "all").
    assert.match(await c.kubectlOk(['-n', NS, 'get', 'all']), /postgres\.kubedb\.com\/ha-postgres/);
  });

  it(`refuses ${INVALID_CASES.length} invalid manifests, each with a field-specific message`, async () => {
    assert.ok(INVALID_CASES.length >= 25);
    const failures: string[] = [];
    for (const tc of INVALID_CASES) {
      const r = await apply(tc.manifest);
      if (r.code === 0) failures.push(`${tc.name}: accepted`);
      else if (!r.stderr.includes(tc.message)) failures.push(`${tc.name}: expected\n  ${tc.message}\ngot\n  ${r.stderr.trim()}`);
    }
    assert.deepEqual(failures, []);
  });

  it('accepts the guides\' ops requests and lists them with TYPE, STATUS, AGE', async () => {
    await applyOk(fixtureText('postgres-add-tls.yaml'));
    await applyOk(fixtureText('pgbouncer-add-tls.yaml'));
    await applyOk(fixtureText('pgpool-add-tls.yaml'));
    const [header, ...rows] = (await c.kubectlOk(['-n', NS, 'get', 'pgops'])).trim().split('\n');
    assert.match(header!, /^NAME\s+TYPE\s+STATUS\s+AGE$/);
    assert.ok(rows.some((r) => /^add-tls\s+ReconfigureTLS\s+\S+$/.test(r)), rows.join('\n'));
    assert.match(await c.kubectlOk(['-n', NS, 'get', 'pbops']), /add-tls\s+ReconfigureTLS/);
    assert.match(await c.kubectlOk(['-n', NS, 'get', 'ppops']), /ppops-add-tls\s+ReconfigureTLS/);
    const ops = await getJson('pgops', 'add-tls');
    assert.equal(ops.spec.apply, 'Always');
    assert.equal(ops.spec.maxRetries, 1);
  });

  it('refuses a change to an ops request\'s spec', async () => {
    const r = await c.kubectl(['-n', NS, 'patch', 'pgops', 'add-tls', '--type=merge', '-p', '{"spec":{"tls":{"sslMode":"require"}}}']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The PostgresOpsRequest "add-tls" is invalid: spec: Forbidden: the spec of an ops request is immutable; create a new ops request instead/);
  });

  it('after TLS is added, accepts the rotate, change-issuer and remove requests of the guides', async () => {
    // What the ops-manager writes when add-tls succeeds: tls, sslMode and clientAuthMode together.
    const tls = (issuer: string) => ({ issuerRef: { name: issuer, kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    await c.kubectlOk(['-n', NS, 'patch', 'pg', 'ha-postgres', '--type=merge', '-p', JSON.stringify({ spec: { tls: tls('pg-issuer'), sslMode: 'verify-full', clientAuthMode: 'cert' } })]);
    await c.kubectlOk(['-n', NS, 'patch', 'pb', 'pb', '--type=merge', '-p', JSON.stringify({ spec: { tls: tls('pb-issuer'), sslMode: 'verify-full' } })]);
    await c.kubectlOk(['-n', NS, 'patch', 'pp', 'pgpool', '--type=merge', '-p', JSON.stringify({ spec: { tls: tls('pgpool-issuer'), sslMode: 'require', clientAuthMode: 'cert' } })]);
    const pg = await getJson('pg', 'ha-postgres');
    assert.deepEqual((pg.spec.tls as { certificates: { secretName: string }[] }).certificates.map((x) => x.secretName), ['ha-postgres-server-cert', 'ha-postgres-client-cert', 'ha-postgres-metrics-exporter-cert']);
    for (const f of ['postgres-rotate-tls.yaml', 'postgres-change-issuer.yaml', 'postgres-remove-tls.yaml', 'pgbouncer-rotate-tls.yaml', 'pgbouncer-change-issuer.yaml', 'pgbouncer-remove-tls.yaml', 'pgpool-rotate.yaml', 'pgpool-change-issuer.yaml', 'pgpool-remove.yaml']) {
      await applyOk(fixtureText(f));
    }
    // The Pgpool guide removes TLS without a clientAuthMode from a cert-auth Pgpool: md5 is chosen, visibly.
    const remove = await getJson('ppops', 'ppops-remove');
    assert.deepEqual(remove.spec.tls, { remove: true, clientAuthMode: 'md5' });
  });

  it('changes no state: a status update of an ops request to Successful resumes nothing (the ops-manager does that, issue 11 item 3)', async () => {
    const now = new Date().toISOString();
    await c.kubectlOk(['-n', NS, 'patch', 'pg', 'ha-postgres', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: { conditions: [{ type: 'Paused', status: 'True', lastTransitionTime: now }, { type: 'Ready', status: 'True', lastTransitionTime: now }] },
    })]);
    await c.kubectlOk(['-n', NS, 'patch', 'pgops', 'rotate-tls', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Progressing"}}']);
    assert.ok((await getJson('pg', 'ha-postgres')).status!.conditions!.some((x) => x.type === 'Paused'), 'Progressing does not resume');
    // A dry run has no side effects.
    await c.kubectlOk(['-n', NS, 'patch', 'pgops', 'rotate-tls', '--subresource=status', '--type=merge', '--dry-run=server', '-p', '{"status":{"phase":"Successful"}}']);
    assert.ok((await getJson('pg', 'ha-postgres')).status!.conditions!.some((x) => x.type === 'Paused'), 'a dry run does not resume');
    await c.kubectlOk(['-n', NS, 'patch', 'pgops', 'rotate-tls', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Successful"}}']);
    const conds = (await getJson('pg', 'ha-postgres')).status!.conditions!.map((x) => x.type);
    assert.deepEqual(conds, ['Paused', 'Ready'], 'admission resumed nothing');
  });

  it('refuses to delete a DoNotTerminate database until its policy changes', async () => {
    await applyOk({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'keep', namespace: NS }, spec: { version: '15', storageType: 'Ephemeral', deletionPolicy: 'DoNotTerminate' } });
    const r = await c.kubectl(['-n', NS, 'delete', 'pg', 'keep']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.deletionPolicy: Forbidden: Postgres demo\/keep has deletionPolicy "DoNotTerminate" and cannot be deleted; to delete it, first set spec\.deletionPolicy to one of "Halt", "Delete", "WipeOut"/);
    await c.kubectlOk(['-n', NS, 'patch', 'pg', 'keep', '--type=merge', '-p', '{"spec":{"deletionPolicy":"Delete"}}']);
    await c.kubectlOk(['-n', NS, 'delete', 'pg', 'keep']);
  });

  it('warns (does not refuse) when the issuer does not exist (issue 11 item 9)', async () => {
    const pg = { apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'no-issuer', namespace: NS }, spec: { version: '15', storageType: 'Ephemeral', tls: { issuerRef: { name: 'nowhere', kind: 'Issuer', apiGroup: 'cert-manager.io' } } } };
    const r = await c.kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], JSON.stringify(pg));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: spec\.tls\.issuerRef: Issuer "nowhere" not found in namespace "demo"; no certificate is issued until it exists/);
  });

  it('storageType cannot change after creation', async () => {
    const r = await c.kubectl(['-n', NS, 'patch', 'pg', 'pg-tls', '--type=merge', '-p', '{"spec":{"storageType":"Ephemeral"}}']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.storageType: Invalid value: "Ephemeral": field is immutable/);
  });
});
