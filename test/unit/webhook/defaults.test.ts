// KubeDB's defaults (kubedb-api.md §2) applied to the guides' manifests.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Postgres } from '../../../src/api/kubedb.com/v1/postgres.ts';
import type { PgBouncer } from '../../../src/api/kubedb.com/v1/pgbouncer.ts';
import type { Pgpool } from '../../../src/api/kubedb.com/v1alpha2/pgpool.ts';
import type { PgpoolOpsRequest } from '../../../src/api/ops.kubedb.com/v1alpha1/pgpool-ops-request.ts';
import { defaultPostgres } from '../../../src/webhook/defaults/postgres.ts';
import { defaultPgBouncer } from '../../../src/webhook/defaults/pgbouncer.ts';
import { defaultPgpool } from '../../../src/webhook/defaults/pgpool.ts';
import { defaultOpsRequest } from '../../../src/webhook/defaults/ops-request.ts';
import { facts, fixture, PG_VERSIONS, PB_VERSIONS } from './helpers.ts';

const withTls = <T extends { spec: object }>(o: T): T => ({ ...o, spec: { ...o.spec, tls: { issuerRef: { name: 'pg-issuer', kind: 'Issuer' } } } });

describe('Postgres defaults', () => {
  const pg = fixture<Postgres>('postgres-ha-postgres.yaml');

  it('fills sslMode, clientAuthMode by major version, authSecret and keeps the user\'s values', () => {
    const d = defaultPostgres(pg, facts({ versions: PG_VERSIONS }));
    assert.equal(d.spec.sslMode, 'disable');
    assert.equal(d.spec.clientAuthMode, 'scram');
    assert.deepEqual(d.spec.authSecret, { name: 'ha-postgres-auth', kind: 'Secret' });
    assert.equal(d.spec.deletionPolicy, 'WipeOut');
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.spec.standbyMode, 'Hot');
    assert.equal(pg.spec.sslMode, undefined, 'the input is not mutated');
    const v15 = defaultPostgres({ ...pg, spec: { ...pg.spec, version: '15', deletionPolicy: undefined, replicas: undefined } }, facts({ versions: PG_VERSIONS }));
    assert.equal(v15.spec.clientAuthMode, 'md5');
    assert.equal(v15.spec.deletionPolicy, 'Delete');
    assert.equal(v15.spec.replicas, 1);
    assert.equal(v15.spec.storageType, 'Durable');
  });

  it('leaves clientAuthMode unset for a version the catalog lacks (validation names the known ones)', () => {
    const d = defaultPostgres({ ...pg, spec: { ...pg.spec, version: '9.6' } }, facts({ versions: PG_VERSIONS }));
    assert.equal(d.spec.clientAuthMode, undefined);
  });

  it('with an issuer: sslMode verify-full, the three certificates with <db>-<alias>-cert secrets, apiGroup cert-manager.io', () => {
    const input = withTls(pg);
    input.spec.tls!.certificates = [{ alias: 'client', subject: { organizations: ['postgres'] } }, { alias: 'server', secretName: 'mine' }];
    const d = defaultPostgres(input, facts({ versions: PG_VERSIONS }));
    assert.equal(d.spec.sslMode, 'verify-full');
    assert.deepEqual(d.spec.tls!.issuerRef, { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' });
    assert.deepEqual(d.spec.tls!.certificates, [
      { alias: 'client', subject: { organizations: ['postgres'] }, secretName: 'ha-postgres-client-cert' },
      { alias: 'server', secretName: 'mine' },
      { alias: 'metrics-exporter', secretName: 'ha-postgres-metrics-exporter-cert' },
    ]);
  });

  it('halted forces deletionPolicy Halt, except DoNotTerminate (refused by validation)', () => {
    assert.equal(defaultPostgres({ ...pg, spec: { ...pg.spec, halted: true } }, facts()).spec.deletionPolicy, 'Halt');
    assert.equal(defaultPostgres({ ...pg, spec: { ...pg.spec, halted: true, deletionPolicy: 'DoNotTerminate' } }, facts()).spec.deletionPolicy, 'DoNotTerminate');
  });
});

describe('PgBouncer defaults', () => {
  const pb = fixture<PgBouncer>('pgbouncer-pb-catalog.yaml');

  it('completes connectionPool with KubeDB\'s values and keeps the given ones', () => {
    const d = defaultPgBouncer(pb, facts({ versions: PB_VERSIONS }));
    assert.deepEqual(d.spec.connectionPool, {
      port: 5432, poolMode: 'session', authType: 'md5', maxClientConnections: 87, defaultPoolSize: 2, minPoolSize: 1,
      reservePoolSize: 5, reservePoolTimeoutSeconds: 5, maxDBConnections: 0, maxUserConnections: 0, statsPeriodSeconds: 60,
    });
    assert.equal(d.spec.sslMode, 'disable');
    assert.equal(d.spec.authSecret!.name, 'pb-auth');
  });

  it('an ACME issuer gets only the server certificate', () => {
    const names = (acme: boolean) => defaultPgBouncer(withTls(pb), facts({ issuerUsesAcme: acme })).spec.tls!.certificates!.map((c) => c.secretName);
    assert.deepEqual(names(false), ['pb-server-cert', 'pb-client-cert', 'pb-metrics-exporter-cert']);
    assert.deepEqual(names(true), ['pb-server-cert']);
  });
});

describe('Pgpool defaults', () => {
  it('clientAuthMode md5, sslMode disable, auth secret, postgresRef namespace', () => {
    const pp = fixture<Pgpool>('pgpool-pgpool-catalog.yaml');
    delete pp.spec.postgresRef.namespace;
    const d = defaultPgpool(pp, facts());
    assert.equal(d.spec.clientAuthMode, 'md5');
    assert.equal(d.spec.sslMode, 'disable');
    assert.equal(d.spec.authSecret!.name, 'pgpool-auth');
    assert.equal(d.spec.postgresRef.namespace, 'demo');
  });
});

describe('ops request defaults', () => {
  it('removing TLS from a cert-auth database without a clientAuthMode chooses md5', () => {
    const ops = fixture<PgpoolOpsRequest>('pgpool-remove.yaml');
    const certDb = { apiVersion: 'kubedb.com/v1alpha2', kind: 'Pgpool', spec: { version: '4.3.5', postgresRef: { name: 'x' }, clientAuthMode: 'cert' as const } };
    assert.equal(defaultOpsRequest(ops, facts({ target: certDb })).spec.tls!.clientAuthMode, 'md5');
    const md5Db = { ...certDb, spec: { ...certDb.spec, clientAuthMode: 'md5' as const } };
    assert.equal(defaultOpsRequest(ops, facts({ target: md5Db })).spec.tls!.clientAuthMode, undefined);
  });
});
