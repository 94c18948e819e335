// Issue 14: the AppBinding of each database, as KubeDB writes it, and kept in
// step with ReconfigureTLS (remove → sslmode=disable, no CA; add → the CA, the
// client certificate's secret, sslmode=verify-full; a CA change → the new CA).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventRecorder } from '../../../src/kube/events.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { bundleFingerprints, fingerprint256 } from '../../../src/certs/index.ts';
import type { KubeObject } from '../../../src/kube/api.ts';
import { pgbouncer, pgpool, postgres } from '../../../src/kinds/index.ts';
import { DatabaseReconciler } from '../../../src/provisioner/reconciler.ts';
import { appBindingConnection, buildAppBinding, type AppBindingConnection } from '../../../src/provisioner/specs/appbinding.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';
import { NS, World } from '../opsmanager/world.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const ref = { name: 'pg', namespace: 'demo', uid: 'u1' };

describe('AppBinding: built as KubeDB writes it', () => {
  it('plain: the primary Service, sslmode=disable, the auth secret; no CA, no client certificate', () => {
    const ab = buildAppBinding({ info: postgres.info, db: ref, version: '16', port: 5432, sslMode: 'disable', authSecret: 'pg-auth', clientCertSecret: 'pg-client-cert' });
    assert.deepEqual(ab, {
      apiVersion: 'appcatalog.appscode.com/v1alpha1',
      kind: 'AppBinding',
      metadata: {
        name: 'pg',
        namespace: 'demo',
        labels: { 'app.kubernetes.io/name': 'postgreses.kubedb.com', 'app.kubernetes.io/instance': 'pg', 'app.kubernetes.io/managed-by': 'kubedb.com', 'app.kubernetes.io/component': 'database' },
        ownerReferences: [{ apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'pg', uid: 'u1', controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        type: 'kubedb.com/postgres',
        appRef: { apiGroup: 'kubedb.com', kind: 'Postgres', namespace: 'demo', name: 'pg' },
        version: '16',
        clientConfig: { service: { name: 'pg', scheme: 'postgresql', port: 5432, path: '/', query: 'sslmode=disable' } },
        secret: { name: 'pg-auth' },
      },
    });
  });

  it('TLS: the CA bundle (base64 PEM), sslmode from the spec, the client certificate secret; the types of the poolers', () => {
    const ab = buildAppBinding({ info: postgres.info, db: ref, version: '16', port: 5432, sslMode: 'verify-full', authSecret: 'pg-auth', caBundle: CA, clientCertSecret: 'pg-client-cert' });
    assert.equal(ab.spec.clientConfig.service?.query, 'sslmode=verify-full');
    assert.equal(Buffer.from(ab.spec.clientConfig.caBundle!, 'base64').toString(), CA);
    assert.deepEqual(ab.spec.tlsSecret, { name: 'pg-client-cert' });
    // No CA staged: the servers serve no TLS, whatever the spec says.
    const noMaterial = buildAppBinding({ info: postgres.info, db: ref, version: '16', port: 5432, sslMode: 'verify-full', authSecret: 'pg-auth', clientCertSecret: 'pg-client-cert' });
    assert.equal(noMaterial.spec.clientConfig.service?.query, 'sslmode=disable');
    assert.equal(noMaterial.spec.tlsSecret, undefined);
    const pb = buildAppBinding({ info: pgbouncer.info, db: { ...ref, name: 'pb' }, version: '1.23.1', port: 5432, sslMode: 'require', authSecret: 'pb-auth', caBundle: CA });
    assert.equal(pb.spec.type, 'kubedb.com/pgbouncer');
    assert.equal(pb.metadata.labels?.['app.kubernetes.io/component'], 'connection-pooler');
    const pp = buildAppBinding({ info: pgpool.info, db: { ...ref, name: 'pp' }, version: '4.5.0', port: 9999, sslMode: 'disable', authSecret: 'pp-auth' });
    assert.deepEqual([pp.spec.type, pp.spec.appRef?.apiGroup, pp.spec.clientConfig.service?.port], ['kubedb.com/pgpool', 'kubedb.com', 9999]);
  });

  it('read back as a client reads it: host, port, sslmode, CA, secrets; a malformed query names the field', () => {
    const ab = buildAppBinding({ info: postgres.info, db: ref, version: '16', port: 5432, sslMode: 'verify-ca', authSecret: 'pg-auth', caBundle: CA, clientCertSecret: 'pg-client-cert' });
    assert.deepEqual(appBindingConnection(ab), {
      service: 'pg', namespace: 'demo', host: 'pg.demo.svc', port: 5432, sslMode: 'verify-ca', caPem: CA, secret: 'pg-auth', tlsSecret: 'pg-client-cert',
    } satisfies AppBindingConnection);
    assert.equal(appBindingConnection({ spec: { clientConfig: { service: { name: 'pb', scheme: 'postgresql', port: 5432, path: '/app' } } } }).database, 'app');
    assert.throws(() => appBindingConnection({ spec: { clientConfig: { service: { name: 'pg', scheme: 'postgresql', port: 5432, query: 'ssl=1' } } } }), /spec\.clientConfig\.service\.query/);
    assert.throws(() => appBindingConnection({ spec: { clientConfig: {} } }), /spec\.clientConfig\.service/);
  });
});

type Ab = KubeObject & { spec: { clientConfig: { caBundle?: string; service?: { query?: string } }; tlsSecret?: { name: string }; secret?: { name: string } } };

describe('AppBinding: applied by the provisioner, kept in step with ReconfigureTLS', () => {
  it('a plain Postgres gets one: sslmode=disable, its auth secret, owned by the database', async () => {
    const clock = new FakeClock();
    const kube = new FakeKube(clock);
    const ctx = { kube, clock, log: createLogger('test', 'silent'), events: new EventRecorder(kube, 'test', 'test', clock) };
    kube.seed({ apiVersion: 'catalog.kubedb.com/v1alpha1', kind: 'PostgresVersion', metadata: { name: '16' }, spec: { version: '16.4', db: { image: 'postgres:16' } } });
    kube.seed({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'pg', namespace: 'demo' }, spec: { version: '16', replicas: 1, storageType: 'Ephemeral', deletionPolicy: 'WipeOut' } });
    const r = new DatabaseReconciler(ctx, postgres.provisioner);
    await r.reconcile({ namespace: 'demo', name: 'pg' });
    await r.reconcile({ namespace: 'demo', name: 'pg' });
    const ab = kube.peek<Ab>('appcatalog.appscode.com/v1alpha1', 'AppBinding', 'pg', 'demo');
    assert.ok(ab, 'AppBinding pg');
    assert.equal(ab.spec.clientConfig.service?.query, 'sslmode=disable');
    assert.equal(ab.spec.clientConfig.caBundle, undefined);
    assert.deepEqual(ab.spec.secret, { name: 'pg-auth' });
    assert.equal(ab.metadata?.ownerReferences?.[0]?.kind, 'Postgres');
  });

  it('remove → sslmode=disable without CA or client secret; add → the new CA and client secret; change issuer → the new CA only', async () => {
    const w = new World();
    await w.setup('ca-a');
    const ab = () => w.kube.peek<Ab>('appcatalog.appscode.com/v1alpha1', 'AppBinding', 'pg', NS)!;
    const caOf = (a: Ab) => bundleFingerprints(Buffer.from(a.spec.clientConfig.caBundle ?? '', 'base64').toString());
    const caA = fingerprint256((await w.ca('ca-a')).certPem);
    const caB = fingerprint256((await w.ca('ca-b')).certPem);
    assert.equal(ab().spec.clientConfig.service?.query, 'sslmode=verify-full');
    assert.deepEqual(caOf(ab()), [caA]);
    assert.deepEqual(ab().spec.tlsSecret, { name: 'pg-client-cert' });

    w.createOps('rm', { remove: true });
    assert.equal(await w.run('rm'), 'Successful');
    assert.equal(ab().spec.clientConfig.service?.query, 'sslmode=disable');
    assert.equal(ab().spec.clientConfig.caBundle, undefined, 'CA dropped');
    assert.equal(ab().spec.tlsSecret, undefined, 'client secret dropped');

    w.createOps('add', { issuerRef: { name: 'ca-b', kind: 'Issuer', apiGroup: 'cert-manager.io' } }, {}, '2026-01-01T00:10:00Z');
    assert.equal(await w.run('add'), 'Successful');
    assert.equal(ab().spec.clientConfig.service?.query, 'sslmode=verify-full');
    assert.deepEqual(caOf(ab()), [caB]);
    assert.deepEqual(ab().spec.tlsSecret, { name: 'pg-client-cert' });

    w.createOps('chg', { issuerRef: { name: 'ca-a', kind: 'Issuer', apiGroup: 'cert-manager.io' } }, {}, '2026-01-01T00:20:00Z');
    const r = w.reconciler();
    const seen: string[][] = [];
    for (let i = 0; i < 100 && (await w.ops('chg')).status?.phase !== 'Successful'; i++) {
      await r.reconcile({ namespace: NS, name: 'chg' });
      await w.certManager();
      w.clock.advance(1_000);
      seen.push(caOf(ab()).sort());
    }
    assert.equal((await w.ops('chg')).status?.phase, 'Successful');
    assert.ok(seen.some((s) => s.length === 2), 'both CAs while either certificate may be served');
    assert.deepEqual(caOf(ab()), [caA], 'only the new CA at the end');
  });
});
