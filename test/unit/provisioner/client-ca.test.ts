// Issue 11 item 6 on Pgpool: its client certificates come from a CA of its own
// when its issuer is a ClusterIssuer (or always, by the operator's flag), and
// ca.pem trusts that CA, not the issuer's, for client certificates. The guide's
// namespaced Issuer keeps KubeDB's layout (one issuer signs every alias).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/kube/api.ts';
import { pgbouncer, pgpool, postgres } from '../../../src/kinds/index.ts';
import { databaseSecrets } from '../../../src/provisioner/tls.ts';
import { configureOwnClientCa, usesOwnClientCa } from '../../../src/provisioner/specs/client-ca.ts';
import { pgpoolCertificates, pgpoolConfigFiles, type PgpoolDb } from '../../../src/provisioner/pgpool/provisioner.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { issueCa } from '../../../src/certs/issue.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

type Obj = KubeObject & { spec: Record<string, unknown> };
const issuer = (kind: 'Issuer' | 'ClusterIssuer', name = 'shared') => ({ name, kind, apiGroup: 'cert-manager.io' });
const pp = (tls: Record<string, unknown>): PgpoolDb =>
  ({
    apiVersion: 'kubedb.com/v1alpha2',
    kind: 'Pgpool',
    metadata: { name: 'pp', namespace: 'team-a', uid: 'u-pp' },
    spec: { version: '4.3.5', postgresRef: { name: 'pg', namespace: 'team-a' }, sslMode: 'require', clientAuthMode: 'cert', tls },
  }) as unknown as PgpoolDb;
const byName = (objs: KubeObject[]) => Object.fromEntries(objs.map((o) => [`${o.kind}/${o.metadata!.name}`, o as Obj]));

describe('a Pgpool client CA of its own', () => {
  after(() => configureOwnClientCa('cluster-issuers'));

  it("the guide's namespaced Issuer: KubeDB's three Certificates, the client one from that Issuer", () => {
    const objs = pgpoolCertificates(pgpool.info, pp({ issuerRef: issuer('Issuer', 'pgpool-issuer') }));
    assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata!.name}`), ['Certificate/pp-server-cert', 'Certificate/pp-client-cert', 'Certificate/pp-metrics-exporter-cert']);
    assert.deepEqual((objs[1] as Obj).spec.issuerRef, { group: 'cert-manager.io', kind: 'Issuer', name: 'pgpool-issuer' });
  });

  it('a ClusterIssuer: a self-signed Issuer, a CA Certificate and a CA Issuer of its own sign the client certificate; the server certificate stays the ClusterIssuer\'s', () => {
    const objs = pgpoolCertificates(pgpool.info, pp({ issuerRef: issuer('ClusterIssuer'), certificates: [{ alias: 'client', subject: { organizations: ['pgpool'], organizationalUnits: ['client'] } }] }));
    assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata!.name}`), [
      'Issuer/pp-client-ca-selfsigned',
      'Certificate/pp-client-ca',
      'Issuer/pp-client-ca-issuer',
      'Certificate/pp-server-cert',
      'Certificate/pp-client-cert',
      'Certificate/pp-metrics-exporter-cert',
    ]);
    const o = byName(objs);
    assert.deepEqual(o['Issuer/pp-client-ca-selfsigned']!.spec, { selfSigned: {} });
    const ca = o['Certificate/pp-client-ca']!.spec;
    assert.equal(ca.isCA, true);
    assert.equal(ca.secretName, 'pp-client-ca');
    assert.deepEqual(ca.issuerRef, { group: 'cert-manager.io', kind: 'Issuer', name: 'pp-client-ca-selfsigned' });
    assert.equal((ca.privateKey as { rotationPolicy: string }).rotationPolicy, 'Never', 'a renewal keeps the key: client certificates signed before still verify');
    assert.deepEqual(ca.subject, { organizationalUnits: ['pgtls:team-a/pp'] });
    assert.deepEqual(o['Issuer/pp-client-ca-issuer']!.spec, { ca: { secretName: 'pp-client-ca' } });
    assert.deepEqual(o['Certificate/pp-client-cert']!.spec.issuerRef, { group: 'cert-manager.io', kind: 'Issuer', name: 'pp-client-ca-issuer' });
    // The user's subject and KubeDB's CN are kept, with the database's marker.
    assert.equal(o['Certificate/pp-client-cert']!.spec.commonName, 'postgres');
    assert.deepEqual(o['Certificate/pp-client-cert']!.spec.subject, { organizations: ['pgpool'], organizationalUnits: ['client', 'pgtls:team-a/pp'] });
    assert.deepEqual(o['Certificate/pp-server-cert']!.spec.issuerRef, { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'shared' });
    assert.deepEqual(o['Certificate/pp-metrics-exporter-cert']!.spec.issuerRef, { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'shared' });
    for (const x of objs) assert.equal(x.metadata!.ownerReferences?.[0]?.uid, 'u-pp', `${x.kind}/${x.metadata!.name} owned by the Pgpool`);
  });

  it('decided by the issuer of the client certificate: a per-alias ClusterIssuer counts, a per-alias Issuer does not', () => {
    assert.equal(usesOwnClientCa({ issuerRef: issuer('Issuer'), certificates: [{ alias: 'client', issuerRef: issuer('ClusterIssuer') }] }), true);
    assert.equal(usesOwnClientCa({ issuerRef: issuer('ClusterIssuer'), certificates: [{ alias: 'client', issuerRef: issuer('Issuer') }] }), false);
    assert.equal(usesOwnClientCa(undefined), false);
    assert.equal(usesOwnClientCa({}), false);
  });

  it('--own-client-ca=always: a namespaced Issuer gets one too', () => {
    configureOwnClientCa('always');
    try {
      assert.equal(pgpoolCertificates(pgpool.info, pp({ issuerRef: issuer('Issuer') })).length, 6);
    } finally {
      configureOwnClientCa('cluster-issuers');
    }
    assert.throws(() => configureOwnClientCa('never' as never), /--own-client-ca: Unsupported value: "never": supported values: "cluster-issuers", "always"/);
  });

  it('Postgres on a ClusterIssuer too (a tenant who may ask it directly could put the marker in a subject); PgBouncer never (no cert login)', () => {
    // What each kind's provisioner asks for, not an option chosen here.
    const kinds = (info: typeof postgres) => info.provisioner.certificates({ apiVersion: info.info.apiVersion, kind: info.info.kind, metadata: { name: 'd', namespace: 'team-a', uid: 'u' }, spec: { version: '15', tls: { issuerRef: issuer('ClusterIssuer') } } } as never).map((o) => `${o.kind}/${o.metadata!.name}`);
    const own = ['Issuer/d-client-ca-selfsigned', 'Certificate/d-client-ca', 'Issuer/d-client-ca-issuer'];
    const kubedb = ['Certificate/d-server-cert', 'Certificate/d-client-cert', 'Certificate/d-metrics-exporter-cert'];
    assert.deepEqual(kinds(postgres), [...own, ...kubedb]);
    assert.deepEqual(kinds(pgpool), [...own, ...kubedb]);
    assert.deepEqual(kinds(pgbouncer), kubedb);
  });

  it('WipeOut may delete the CA Secret (when its labels prove it is the Pgpool\'s)', () => {
    assert.ok(databaseSecrets(pp({ issuerRef: issuer('ClusterIssuer') })).includes('pp-client-ca'));
  });

  it("ca.pem trusts for client certificates the CA that signs the client certificate (staged client-ca.crt), then the backend's; not the server's issuer", async () => {
    const [serverCa, ownCa] = await Promise.all([issueCa({ commonName: 'shared' }), issueCa({ commonName: 'pp client CA' })]);
    const clock = new FakeClock();
    const kube = new FakeKube(clock);
    const ctx = { kube, clock, log: createLogger('test', 'silent'), events: new EventRecorder(kube, 'test', 'test', clock) };
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    kube.seed({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'pg', namespace: 'team-a' }, spec: { version: '15', replicas: 1, storageType: 'Ephemeral' } });
    kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pg-auth', namespace: 'team-a' }, data: { username: b64('postgres'), password: b64('pw') } });
    kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pp-auth', namespace: 'team-a' }, data: { username: b64('pcp'), password: b64('pcp-pw') } });
    const material = { 'server.crt': 'x', 'server.key': 'y', 'ca.crt': serverCa.certPem, 'client-ca.crt': ownCa.certPem };
    const f = await pgpoolConfigFiles(ctx, pp({ issuerRef: issuer('ClusterIssuer') }), material, '4.3.5');
    assert.equal(f['ca.pem'], ownCa.certPem.trim() + '\n');
    // Without a staged client CA (material staged before this change), the server's CA as before.
    const old = await pgpoolConfigFiles(ctx, pp({ issuerRef: issuer('Issuer') }), { 'server.crt': 'x', 'server.key': 'y', 'ca.crt': serverCa.certPem }, '4.3.5');
    assert.equal(old['ca.pem'], serverCa.certPem.trim() + '\n');
  });
});
