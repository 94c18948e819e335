// Admission rules, each asserted by its exact message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Postgres } from '../../../src/api/kubedb.com/v1/postgres.ts';
import type { PgBouncer } from '../../../src/api/kubedb.com/v1/pgbouncer.ts';
import type { Pgpool } from '../../../src/api/kubedb.com/v1alpha2/pgpool.ts';
import type { PostgresOpsRequest } from '../../../src/api/ops.kubedb.com/v1alpha1/postgres-ops-request.ts';
import type { PgBouncerOpsRequest } from '../../../src/api/ops.kubedb.com/v1alpha1/pgbouncer-ops-request.ts';
import { formatFieldError } from '../../../src/webhook/field-error.ts';
import { runValidators } from '../../../src/webhook/validators/types.ts';
import { postgresValidators } from '../../../src/webhook/validators/postgres.ts';
import { pgbouncerValidators } from '../../../src/webhook/validators/pgbouncer.ts';
import { pgpoolValidators } from '../../../src/webhook/validators/pgpool.ts';
import { opsCreateValidators, opsUpdateValidators } from '../../../src/webhook/validators/ops-request.ts';
import { validateDelete } from '../../../src/webhook/validators/database.ts';
import { defaultPostgres } from '../../../src/webhook/defaults/postgres.ts';
import type { AdmissionFacts } from '../../../src/webhook/facts.ts';
import { facts, fixture, PB_VERSIONS, PG_VERSIONS, PP_VERSIONS } from './helpers.ts';

const pgFacts = facts({ versions: PG_VERSIONS });
const basePg = defaultPostgres(fixture<Postgres>('postgres-ha-postgres.yaml'), pgFacts);
const pg = (spec: Partial<Postgres['spec']>): Postgres => ({ ...basePg, spec: { ...basePg.spec, ...spec } });
const issuer = { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' };
const msgs = (errs: Parameters<typeof formatFieldError>[0][]) => errs.map(formatFieldError);
const checkPg = (p: Postgres, old?: Postgres, f: AdmissionFacts = pgFacts) => msgs(runValidators(postgresValidators, p, old, f));

describe('Postgres validators', () => {
  it('accepts the defaulted guide manifest, with and without TLS', () => {
    assert.deepEqual(checkPg(basePg), []);
    assert.deepEqual(checkPg(pg({ tls: { issuerRef: issuer }, sslMode: 'verify-full', clientAuthMode: 'cert' })), []);
  });

  const cases: [string, Partial<Postgres['spec']>, string][] = [
    ['unknown version', { version: '16.1' }, 'spec.version: Unsupported value: "16.1": supported values: "10", "15", "18.3"'],
    ['tls with sslMode disable', { tls: { issuerRef: issuer }, sslMode: 'disable' }, 'spec.sslMode: Invalid value: "disable": spec.tls is set, so TLS cannot be disabled; supported values with TLS: "allow", "prefer", "require", "verify-ca", "verify-full"'],
    ['sslMode without tls', { sslMode: 'require' }, 'spec.sslMode: Invalid value: "require": spec.tls is not set; without TLS the only supported value is "disable"'],
    ['cert without TLS', { clientAuthMode: 'cert' }, 'spec.clientAuthMode: Invalid value: "cert": client certificates need TLS (spec.tls and an sslMode other than "disable"); supported values without TLS: "md5", "scram"'],
    ['issuer kind', { tls: { issuerRef: { ...issuer, kind: 'Foo' } }, sslMode: 'require' }, 'spec.tls.issuerRef.kind: Unsupported value: "Foo": supported values: "Issuer", "ClusterIssuer"'],
    ['issuer group', { tls: { issuerRef: { ...issuer, apiGroup: 'cert-manager.com' } }, sslMode: 'require' }, 'spec.tls.issuerRef.apiGroup: Unsupported value: "cert-manager.com": supported values: "cert-manager.io"'],
    ['tls without issuer', { tls: {}, sslMode: 'require' }, 'spec.tls.issuerRef: Required value: the cert-manager Issuer or ClusterIssuer that signs the certificates'],
    ['unknown alias', { tls: { issuerRef: issuer, certificates: [{ alias: 'sever' }] }, sslMode: 'require' }, 'spec.tls.certificates[0].alias: Unsupported value: "sever": supported values: "server", "client", "metrics-exporter", "archiver"'],
    ['duplicate alias', { tls: { issuerRef: issuer, certificates: [{ alias: 'client' }, { alias: 'client' }] }, sslMode: 'require' }, 'spec.tls.certificates[1].alias: Duplicate value: "client"'],
    ['bad duration', { tls: { issuerRef: issuer, certificates: [{ alias: 'server', duration: '90d' }] }, sslMode: 'require' }, 'spec.tls.certificates[0].duration: Invalid value: "90d": must be a duration such as "2160h" or "90m" (units: h, m, s, ms)'],
    ['halted DoNotTerminate', { halted: true, deletionPolicy: 'DoNotTerminate' }, 'spec.halted: Forbidden: cannot halt a database whose spec.deletionPolicy is "DoNotTerminate"; change spec.deletionPolicy first'],
    ['replicas 0', { replicas: 0 }, 'spec.replicas: Invalid value: 0: must be between 1 and 9'],
    ['durable without storage', { storage: undefined }, 'spec.storage: Required value: required when spec.storageType is "Durable"'],
    ['ephemeral halt', { storageType: 'Ephemeral', deletionPolicy: 'Halt' }, 'spec.deletionPolicy: Forbidden: "Halt" keeps the data volumes, which spec.storageType "Ephemeral" does not have; supported values: "Delete", "WipeOut", "DoNotTerminate"'],
    ['scram on 10', { version: '10', clientAuthMode: 'scram' }, 'spec.clientAuthMode: Invalid value: "scram": needs PostgreSQL 11 or later, and version "10" is 10; supported values: "md5", "cert"'],
  ];
  for (const [name, spec, msg] of cases) {
    it(`refuses: ${name}`, () => assert.deepEqual(checkPg(pg(spec)), [msg]));
  }

  it('an empty catalog says so', () => {
    assert.deepEqual(checkPg(basePg, undefined, facts()), ['spec.version: Not found: "18.3": no PostgresVersion exists in the catalog']);
  });

  it('storageType is immutable', () => {
    assert.deepEqual(checkPg(pg({ storageType: 'Ephemeral' }), basePg), ['spec.storageType: Invalid value: "Ephemeral": field is immutable']);
  });

  it('DoNotTerminate refuses DELETE and names the policies that allow it', () => {
    assert.deepEqual(msgs(validateDelete(pg({ deletionPolicy: 'DoNotTerminate' }))), [
      'spec.deletionPolicy: Forbidden: Postgres demo/ha-postgres has deletionPolicy "DoNotTerminate" and cannot be deleted; to delete it, first set spec.deletionPolicy to one of "Halt", "Delete", "WipeOut"',
    ]);
    assert.deepEqual(validateDelete(basePg), []);
  });
});

describe('PgBouncer validators', () => {
  const pb = fixture<PgBouncer>('pgbouncer-pb.yaml');
  const check = (p: PgBouncer) => msgs(runValidators(pgbouncerValidators, p, undefined, facts({ versions: PB_VERSIONS })));
  it('refuses the guide\'s version 1.24.0, naming the versions this cluster runs', () => {
    assert.deepEqual(check(pb), ['spec.version: Unsupported value: "1.24.0": supported values: "1.18.0"']);
  });
  it('databaseName must be neither empty nor pgbouncer', () => {
    const v = fixture<PgBouncer>('pgbouncer-pb-catalog.yaml');
    assert.deepEqual(check(v), []);
    assert.deepEqual(check({ ...v, spec: { ...v.spec, database: { ...v.spec.database, databaseName: 'pgbouncer' } } }), [
      'spec.database.databaseName: Invalid value: "pgbouncer": reserved for PgBouncer\'s admin console; name a database of the backend Postgres',
    ]);
    assert.deepEqual(check({ ...v, spec: { ...v.spec, database: { ...v.spec.database, databaseName: '' } } }), [
      'spec.database.databaseName: Required value: the backend database clients connect to',
    ]);
  });
});

describe('Pgpool validators', () => {
  const pp = fixture<Pgpool>('pgpool-pgpool-catalog.yaml');
  const check = (p: Pgpool, f: Partial<AdmissionFacts>) => msgs(runValidators(pgpoolValidators, p, undefined, facts({ versions: PP_VERSIONS, ...f })));
  it('replicas 1..9', () => {
    assert.deepEqual(check({ ...pp, spec: { ...pp.spec, replicas: 10 } }, { target: basePg }), ['spec.replicas: Invalid value: 10: must be between 1 and 9']);
  });
  it('a TLS backend needs spec.tls; a missing backend is refused on create', () => {
    assert.deepEqual(check(pp, { target: basePg }), []);
    assert.deepEqual(check(pp, { target: pg({ tls: { issuerRef: issuer }, sslMode: 'verify-full' }) }), [
      'spec.tls: Required value: the backend Postgres demo/ha-postgres has TLS enabled, so Pgpool must use TLS too',
    ]);
    assert.deepEqual(check(pp, { target: null }), ['spec.postgresRef: Not found: "demo/ha-postgres": Pgpool needs an existing backend Postgres']);
    assert.deepEqual(check(pp, { target: null, operation: 'UPDATE' }), []);
  });
  it("spec.configuration.inline pgpool.conf: the guide's pool sizes pass; unknown keys, bad values and another clustering mode are refused", () => {
    const conf = (text: string): Pgpool => ({ ...pp, spec: { ...pp.spec, configuration: { inline: { 'pgpool.conf': text } } } });
    assert.deepEqual(check(conf('num_init_children=6\nmax_pool=65\nchild_life_time=400\n'), { target: basePg }), []);
    assert.deepEqual(check(conf("backend_clustering_mode='streaming_replication'\nload_balance_mode=on\n"), { target: basePg }), []);
    const bad = check(conf("max_pool=lots\nbackend_clustering_mode='raw'\n"), { target: basePg });
    assert.deepEqual(bad, [
      'spec.configuration.inline[pgpool.conf]: Invalid value: "max_pool=lots\\nbackend_clustering_mode=\'raw\'\\n": max_pool must be a non-negative integer, got "lots"',
      'spec.configuration.inline[pgpool.conf]: Invalid value: "raw": backend_clustering_mode: pgtls runs Pgpool in streaming_replication mode only',
    ]);
    assert.match(check(conf('wd_lifecheck_method = heartbeat'), { target: basePg })[0]!, /"wd_lifecheck_method" is not a setting pgtls applies; supported: num_init_children, max_pool, /);
  });
});

describe('ops request validators', () => {
  const addTls = fixture<PostgresOpsRequest>('postgres-add-tls.yaml');
  const tlsDb = pg({ tls: { issuerRef: issuer }, sslMode: 'verify-full', clientAuthMode: 'cert' });
  const check = (o: PostgresOpsRequest | PgBouncerOpsRequest, target: AdmissionFacts['target'] = basePg) =>
    msgs(runValidators(opsCreateValidators, o, undefined, facts({ target })));
  const tls = (t: PostgresOpsRequest['spec']['tls']): PostgresOpsRequest => ({ ...addTls, spec: { ...addTls.spec, tls: t } });

  it('accepts the guide requests against a matching database state', () => {
    assert.deepEqual(check(addTls), []);
    for (const f of ['postgres-rotate-tls.yaml', 'postgres-change-issuer.yaml', 'postgres-remove-tls.yaml']) assert.deepEqual(check(fixture(f), tlsDb), [], f);
  });

  const cases: [string, PostgresOpsRequest, AdmissionFacts['target'], string][] = [
    ['unknown type', { ...addTls, spec: { ...addTls.spec, type: 'Upgrade' as never } }, basePg,
      'spec.type: Invalid value: "Upgrade": defined OpsRequestType Upgrade is not supported, supported types for PostgresOpsRequest are UpdateVersion, HorizontalScaling, VerticalScaling, VolumeExpansion, Restart, Reconfigure, ReconfigureTLS, RotateAuth, ReconnectStandby, ForceFailOver, SetRaftKeyPair, StorageMigration'],
    ['missing database', addTls, null, 'spec.databaseRef.name: Not found: "ha-postgres": no Postgres of that name in namespace "demo"'],
    ['no tls', tls(undefined), basePg, 'spec.tls: Required value: `spec.tls` nil not supported in ReconfigureTLS type'],
    ['empty tls', tls({}), tlsDb, 'spec.tls: Required value: say what to change: one of spec.tls.issuerRef, spec.tls.certificates, spec.tls.rotateCertificates, spec.tls.remove, spec.tls.sslMode, spec.tls.clientAuthMode'],
    ['remove + rotate', tls({ remove: true, rotateCertificates: true, clientAuthMode: 'md5' }), tlsDb, 'spec.tls.rotateCertificates: Forbidden: may not be combined with spec.tls.remove: there is nothing left to rotate'],
    ['remove + issuer', tls({ remove: true, issuerRef: issuer, clientAuthMode: 'md5' }), tlsDb, 'spec.tls.issuerRef: Forbidden: may not be combined with spec.tls.remove: removing TLS needs no issuer'],
    ['remove + cert', tls({ remove: true, clientAuthMode: 'cert' }), tlsDb, 'spec.tls.clientAuthMode: Invalid value: "cert": client certificates need TLS, which this request removes; supported values: "md5", "scram"'],
    ['remove keeps cert auth', tls({ remove: true }), tlsDb, 'spec.tls.clientAuthMode: Required value: Postgres demo/ha-postgres uses clientAuthMode "cert", which needs TLS; supported values: "md5", "scram"'],
    ['remove + sslMode', tls({ remove: true, sslMode: 'require', clientAuthMode: 'md5' }), tlsDb, 'spec.tls.sslMode: Invalid value: "require": TLS is being removed; the only supported value is "disable"'],
    ['sslMode disable without remove', tls({ sslMode: 'disable' }), tlsDb, 'spec.tls.sslMode: Invalid value: "disable": turns TLS off; to remove TLS set spec.tls.remove: true, otherwise use one of "allow", "prefer", "require", "verify-ca", "verify-full"'],
    ['remove from a non-TLS DB', tls({ remove: true }), basePg, 'spec.tls.remove: Invalid value: true: Postgres demo/ha-postgres has no TLS to remove'],
    ['add without issuer', tls({ rotateCertificates: true }), basePg, 'spec.tls.issuerRef: Required value: Postgres demo/ha-postgres has no TLS yet; adding TLS needs the Issuer or ClusterIssuer that signs its certificates'],
    ['bad timeout', { ...addTls, spec: { ...addTls.spec, timeout: '5 minutes' } }, basePg, 'spec.timeout: Invalid value: "5 minutes": must be a duration such as "2160h" or "90m" (units: h, m, s, ms)'],
    ['issuer kind', tls({ issuerRef: { ...issuer, kind: 'Secret' } }), basePg, 'spec.tls.issuerRef.kind: Unsupported value: "Secret": supported values: "Issuer", "ClusterIssuer"'],
  ];
  for (const [name, o, target, msg] of cases) it(`refuses: ${name}`, () => assert.deepEqual(check(o, target), [msg]));

  it('the spec is immutable; status-only updates pass', () => {
    const withStatus = { ...addTls, status: { phase: 'Successful' as const } };
    assert.deepEqual(msgs(runValidators(opsUpdateValidators, withStatus, addTls, facts({ operation: 'UPDATE' }))), []);
    const changed = tls({ rotateCertificates: true });
    assert.deepEqual(msgs(runValidators(opsUpdateValidators, changed, addTls, facts({ operation: 'UPDATE' }))), [
      'spec: Forbidden: the spec of an ops request is immutable; create a new ops request instead',
    ]);
  });
});
