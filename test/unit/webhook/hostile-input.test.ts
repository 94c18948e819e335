// Hostile or careless input refused at admission with field paths (issue 11
// item 9): each case asserts the exact message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Postgres } from '../../../src/api/kubedb.com/v1/postgres.ts';
import type { PgBouncer } from '../../../src/api/kubedb.com/v1/pgbouncer.ts';
import type { Pgpool } from '../../../src/api/kubedb.com/v1alpha2/pgpool.ts';
import type { PostgresOpsRequest } from '../../../src/api/ops.kubedb.com/v1alpha1/postgres-ops-request.ts';
import { formatFieldError } from '../../../src/webhook/field-error.ts';
import { runValidators } from '../../../src/webhook/validators/types.ts';
import { postgresValidators } from '../../../src/webhook/validators/postgres.ts';
import { pgbouncerValidators } from '../../../src/webhook/validators/pgbouncer.ts';
import { pgpoolValidators } from '../../../src/webhook/validators/pgpool.ts';
import { opsCreateValidators } from '../../../src/webhook/validators/ops-request.ts';
import { defaultPostgres } from '../../../src/webhook/defaults/postgres.ts';
import { missingIssuerWarnings } from '../../../src/webhook/issuer-check.ts';
import type { AdmissionFacts } from '../../../src/webhook/facts.ts';
import { facts, fixture, PB_VERSIONS, PG_VERSIONS, PP_VERSIONS } from './helpers.ts';

const pgFacts = facts({ versions: PG_VERSIONS });
const basePg = defaultPostgres(fixture<Postgres>('postgres-ha-postgres.yaml'), pgFacts);
const issuer = { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' };
const tlsPg = { ...basePg, spec: { ...basePg.spec, tls: { issuerRef: issuer }, sslMode: 'verify-full' as const } };
const msgs = (errs: Parameters<typeof formatFieldError>[0][]) => errs.map(formatFieldError);
const named = <T extends { metadata?: object }>(o: T, metadata: Record<string, string | undefined>): T => ({ ...o, metadata: { ...o.metadata, ...metadata } });
const long = (n: number) => `a${'b'.repeat(n - 1)}`;
const LABEL = 'must be a DNS-1035 label, as its Services are named after it: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit';
const TOO_LONG = 'must be no more than 52 characters: the StatefulSet\'s pods are labelled controller-revision-hash=<name>-<hash>, which must fit in 63';

type Case = [name: string, run: () => string[], message: string];

const checkPg = (p: Postgres, old?: Postgres, f: AdmissionFacts = pgFacts) => msgs(runValidators(postgresValidators, p, old, f));
const pgSpec = (spec: Partial<Postgres['spec']>, from: Postgres = basePg): Postgres => ({ ...from, spec: { ...from.spec, ...spec } });
const certs = (c: Record<string, string>[]) => pgSpec({ tls: { issuerRef: issuer, certificates: c.map((x) => ({ alias: 'server', ...x })) } }, tlsPg);

const pb = fixture<PgBouncer>('pgbouncer-pb-catalog.yaml');
const checkPb = (p: PgBouncer, old?: PgBouncer, op: AdmissionFacts['operation'] = 'CREATE') => msgs(runValidators(pgbouncerValidators, p, old, facts({ versions: PB_VERSIONS, operation: op })));
const pbSpec = (spec: Partial<PgBouncer['spec']>): PgBouncer => ({ ...pb, spec: { ...pb.spec, ...spec } });

const pp = fixture<Pgpool>('pgpool-pgpool-catalog.yaml');
const checkPp = (p: Pgpool, old?: Pgpool, op: AdmissionFacts['operation'] = 'CREATE') => msgs(runValidators(pgpoolValidators, p, old, facts({ versions: PP_VERSIONS, target: basePg, operation: op })));

const addTls = fixture<PostgresOpsRequest>('postgres-add-tls.yaml');
const checkOps = (o: PostgresOpsRequest) => msgs(runValidators(opsCreateValidators, o, undefined, facts({ target: basePg })));
const ops = (spec: Partial<PostgresOpsRequest['spec']>): PostgresOpsRequest => ({ ...addTls, spec: { ...addTls.spec, ...spec } });
const opsCerts = (c: Record<string, string>[]) => ops({ tls: { issuerRef: issuer, certificates: c.map((x) => ({ alias: 'server', ...x })) } });

const cases: Case[] = [
  // Names: what the Services, pods and their labels are derived from.
  ['Postgres name of 53 characters', () => checkPg(named(basePg, { name: long(53) })), `metadata.name: Invalid value: "${long(53)}": ${TOO_LONG}`],
  ['Postgres name of 63 characters', () => checkPg(named(basePg, { name: long(63) })), `metadata.name: Invalid value: "${long(63)}": ${TOO_LONG}`],
  ['Postgres name starting with a digit', () => checkPg(named(basePg, { name: '1db' })), `metadata.name: Invalid value: "1db": ${LABEL}`],
  ['Postgres name with a dot', () => checkPg(named(basePg, { name: 'db.prod' })), `metadata.name: Invalid value: "db.prod": ${LABEL}`],
  ['Postgres name ending with "-"', () => checkPg(named(basePg, { name: 'db-' })), `metadata.name: Invalid value: "db-": ${LABEL}`],
  ['Postgres name in upper case', () => checkPg(named(basePg, { name: 'Prod' })), `metadata.name: Invalid value: "Prod": ${LABEL}`],
  ['Postgres name with an underscore', () => checkPg(named(basePg, { name: 'my_db' })), `metadata.name: Invalid value: "my_db": ${LABEL}`],
  ['Postgres generateName too long', () => checkPg(named(basePg, { name: undefined, generateName: `${long(48)}` })), `metadata.generateName: Invalid value: "${long(48)}": must be no more than 47 characters (5 random characters are appended, and the name must fit in 52)`],
  ['Postgres generateName with a dot', () => checkPg(named(basePg, { name: undefined, generateName: 'db.' })), 'metadata.generateName: Invalid value: "db.": must start with a lowercase letter and hold only lowercase letters, digits and "-"'],
  ['PgBouncer name of 60 characters', () => checkPb(named(pb, { name: long(60) })), `metadata.name: Invalid value: "${long(60)}": ${TOO_LONG}`],
  ['PgBouncer name with a slash', () => checkPb(named(pb, { name: 'a/b' })), `metadata.name: Invalid value: "a/b": ${LABEL}`],
  ['Pgpool name of 53 characters', () => checkPp(named(pp, { name: long(53) })), `metadata.name: Invalid value: "${long(53)}": ${TOO_LONG}`],
  ['Pgpool name with a space', () => checkPp(named(pp, { name: 'pg pool' })), `metadata.name: Invalid value: "pg pool": ${LABEL}`],
  // Replicas.
  ['Postgres replicas 10', () => checkPg(pgSpec({ replicas: 10 })), 'spec.replicas: Invalid value: 10: must be between 1 and 9'],
  ['Postgres replicas 1000000', () => checkPg(pgSpec({ replicas: 1_000_000 })), 'spec.replicas: Invalid value: 1000000: must be between 1 and 9'],
  ['Postgres replicas -1', () => checkPg(pgSpec({ replicas: -1 })), 'spec.replicas: Invalid value: -1: must be between 1 and 9'],
  ['PgBouncer replicas 50', () => checkPb(pbSpec({ replicas: 50 })), 'spec.replicas: Invalid value: 50: must be between 1 and 9'],
  ['PgBouncer replicas 0', () => checkPb(pbSpec({ replicas: 0 })), 'spec.replicas: Invalid value: 0: must be between 1 and 9'],
  // Certificate durations.
  ['duration 30m', () => checkPg(certs([{ duration: '30m' }])), 'spec.tls.certificates[0].duration: Invalid value: "30m": must be at least 1h (cert-manager\'s minimum)'],
  ['duration 1s', () => checkPg(certs([{ duration: '1s' }])), 'spec.tls.certificates[0].duration: Invalid value: "1s": must be at least 1h (cert-manager\'s minimum)'],
  ['renewBefore 1m', () => checkPg(certs([{ renewBefore: '1m' }])), 'spec.tls.certificates[0].renewBefore: Invalid value: "1m": must be at least 5m'],
  ['renewBefore equal to duration', () => checkPg(certs([{ duration: '24h', renewBefore: '24h' }])), 'spec.tls.certificates[0].renewBefore: Invalid value: "24h": must be shorter than the certificate\'s duration (24h)'],
  ['renewBefore longer than duration', () => checkPg(certs([{ duration: '2h', renewBefore: '3h' }])), 'spec.tls.certificates[0].renewBefore: Invalid value: "3h": must be shorter than the certificate\'s duration (2h)'],
  ['renewBefore beyond the default duration', () => checkPg(certs([{ renewBefore: '3000h' }])), 'spec.tls.certificates[0].renewBefore: Invalid value: "3000h": must be shorter than the certificate\'s duration (2160h, the default)'],
  ['renewBefore in minutes equal to duration in hours', () => checkPg(certs([{ duration: '2h', renewBefore: '120m' }])), 'spec.tls.certificates[0].renewBefore: Invalid value: "120m": must be shorter than the certificate\'s duration (2h)'],
  ['PgBouncer certificate duration 59m59s', () => checkPb(pbSpec({ tls: { issuerRef: issuer, certificates: [{ alias: 'server', duration: '59m59s' }] }, sslMode: 'require' })), 'spec.tls.certificates[0].duration: Invalid value: "59m59s": must be at least 1h (cert-manager\'s minimum)'],
  ['ops request certificate duration 10m', () => checkOps(opsCerts([{ duration: '10m' }])), 'spec.tls.certificates[0].duration: Invalid value: "10m": must be at least 1h (cert-manager\'s minimum)'],
  ['ops request renewBefore ≥ duration', () => checkOps(opsCerts([{ duration: '48h', renewBefore: '72h' }])), 'spec.tls.certificates[0].renewBefore: Invalid value: "72h": must be shorter than the certificate\'s duration (48h)'],
  // Ports.
  ['PgBouncer port 0', () => checkPb(pbSpec({ connectionPool: { ...pb.spec.connectionPool, port: 0 } })), 'spec.connectionPool.port: Invalid value: 0: must be a port number between 1 and 65535'],
  ['PgBouncer port 65536', () => checkPb(pbSpec({ connectionPool: { ...pb.spec.connectionPool, port: 65536 } })), 'spec.connectionPool.port: Invalid value: 65536: must be a port number between 1 and 65535'],
  ['PgBouncer port -5432', () => checkPb(pbSpec({ connectionPool: { ...pb.spec.connectionPool, port: -5432 } })), 'spec.connectionPool.port: Invalid value: -5432: must be a port number between 1 and 65535'],
  // Ops request bounds.
  ['timeout 1s', () => checkOps(ops({ timeout: '1s' })), 'spec.timeout: Invalid value: "1s": must be at least 10s'],
  ['timeout 500ms', () => checkOps(ops({ timeout: '500ms' })), 'spec.timeout: Invalid value: "500ms": must be at least 10s'],
  ['timeout 100h', () => checkOps(ops({ timeout: '100h' })), 'spec.timeout: Invalid value: "100h": must be at most 24h'],
  ['timeout 24h1s', () => checkOps(ops({ timeout: '24h1s' })), 'spec.timeout: Invalid value: "24h1s": must be at most 24h'],
  ['maxRetries 11', () => checkOps(ops({ maxRetries: 11 })), 'spec.maxRetries: Invalid value: 11: must be between 0 and 10'],
  ['maxRetries 2147483647', () => checkOps(ops({ maxRetries: 2147483647 })), 'spec.maxRetries: Invalid value: 2147483647: must be between 0 and 10'],
  ['maxRetries -1', () => checkOps(ops({ maxRetries: -1 })), 'spec.maxRetries: Invalid value: -1: must be between 0 and 10'],
  // Immutable fields on update.
  ['Postgres version downgrade 18.3 → 15', () => checkPg(pgSpec({ version: '15' }), basePg, facts({ versions: PG_VERSIONS, operation: 'UPDATE' })), 'spec.version: Forbidden: "15" is major version 15, older than the running 18 ("18.3"): a downgrade across major versions cannot read the data'],
  ['Postgres version downgrade 15 → 10', () => checkPg(pgSpec({ version: '10', clientAuthMode: 'md5' }), pgSpec({ version: '15', clientAuthMode: 'md5' }), facts({ versions: PG_VERSIONS, operation: 'UPDATE' })), 'spec.version: Forbidden: "10" is major version 10, older than the running 15 ("15"): a downgrade across major versions cannot read the data'],
  ['Postgres storage size change', () => checkPg(pgSpec({ storage: { ...basePg.spec.storage, resources: { requests: { storage: '100Gi' } } } }), basePg, facts({ versions: PG_VERSIONS, operation: 'UPDATE' })), 'spec.storage: Forbidden: field is immutable; storage cannot change after creation'],
  ['Postgres storage class change', () => checkPg(pgSpec({ storage: { ...basePg.spec.storage, storageClassName: 'fast' } }), basePg, facts({ versions: PG_VERSIONS, operation: 'UPDATE' })), 'spec.storage: Forbidden: field is immutable; storage cannot change after creation'],
  ['Postgres authSecret change', () => checkPg(pgSpec({ authSecret: { name: 'team-b-superuser', kind: 'Secret' } }), basePg, facts({ versions: PG_VERSIONS, operation: 'UPDATE' })), 'spec.authSecret.name: Forbidden: field is immutable (was "ha-postgres-auth"): the database\'s users were created with that secret\'s credentials'],
  ['PgBouncer authSecret change', () => checkPb(pbSpec({ authSecret: { name: 'other' } }), pbSpec({ authSecret: { name: 'pb-auth' } }), 'UPDATE'), 'spec.authSecret.name: Forbidden: field is immutable (was "pb-auth"): the database\'s users were created with that secret\'s credentials'],
  ['Pgpool authSecret change', () => checkPp({ ...pp, spec: { ...pp.spec, authSecret: { name: 'x' } } }, { ...pp, spec: { ...pp.spec, authSecret: { name: 'pgpool-auth' } } }, 'UPDATE'), 'spec.authSecret.name: Forbidden: field is immutable (was "pgpool-auth"): the database\'s users were created with that secret\'s credentials'],
];

describe('hostile input refused at admission (issue 11 item 9)', () => {
  it(`has at least 40 refusal cases (${cases.length})`, () => assert.ok(cases.length >= 40));
  for (const [name, run, message] of cases) it(`refuses: ${name}`, () => assert.deepEqual(run(), [message]));

  it('accepts what is within the limits', () => {
    assert.deepEqual(checkPg(named(basePg, { name: long(52) })), []);
    assert.deepEqual(checkPg(named(basePg, { name: undefined, generateName: 'db-' })), []);
    assert.deepEqual(checkPg(pgSpec({ replicas: 9 })), []);
    assert.deepEqual(checkPg(certs([{ duration: '1h', renewBefore: '5m' }])), []);
    assert.deepEqual(checkOps(ops({ timeout: '30s', maxRetries: 10 })), []);
    assert.deepEqual(checkOps(ops({ timeout: '24h', maxRetries: 0 })), []);
    assert.deepEqual(checkPg(pgSpec({ version: '18.3' }), pgSpec({ version: '15' }), facts({ versions: PG_VERSIONS, operation: 'UPDATE' })), [], 'an upgrade is fine');
  });

  it('an existing object with a long name stays editable (the name is checked on create only)', () => {
    assert.deepEqual(checkPg(named(basePg, { name: long(60) }), named(basePg, { name: long(60) }), facts({ versions: PG_VERSIONS, operation: 'UPDATE' })), []);
  });

  it('generateName: nothing is derived from the empty name at mutation (no "-auth" Secret, no "-server-cert")', () => {
    const d = defaultPostgres({ ...fixture<Postgres>('postgres-ha-postgres.yaml'), metadata: { generateName: 'db-', namespace: 'demo' }, spec: { ...basePg.spec, authSecret: undefined, tls: { issuerRef: issuer } } } as Postgres, pgFacts);
    assert.equal(d.spec.authSecret?.name, undefined);
    assert.ok(d.spec.tls!.certificates!.every((c) => c.secretName === undefined), JSON.stringify(d.spec.tls!.certificates));
  });
});

describe('an issuer that does not exist: admission warns (issue 11 item 9)', () => {
  const lookups = (have: string[]) => ({
    listVersions: async () => [],
    getDatabase: async () => undefined,
    getIssuer: async (kind: string, ns: string, name: string) => (have.includes(`${kind}/${ns}/${name}`) ? {} : undefined),
    reviewAccess: async () => false,
  });

  it('names each missing Issuer or ClusterIssuer by field path; nothing when they exist', async () => {
    const obj = { metadata: { namespace: 'demo' }, spec: { tls: { issuerRef: issuer, certificates: [{ alias: 'client', issuerRef: { name: 'global', kind: 'ClusterIssuer' } }] } } };
    assert.deepEqual(await missingIssuerWarnings(obj, lookups([])), [
      'spec.tls.issuerRef: Issuer "pg-issuer" not found in namespace "demo"; no certificate is issued until it exists',
      'spec.tls.certificates[0].issuerRef: ClusterIssuer "global" not found; no certificate is issued until it exists',
    ]);
    assert.deepEqual(await missingIssuerWarnings(obj, lookups(['Issuer/demo/pg-issuer', 'ClusterIssuer//global'])), []);
  });

  it('a lookup that fails (no rights) warns nothing rather than something wrong', async () => {
    const failing = { ...lookups([]), getIssuer: async () => Promise.reject(new Error('forbidden')) };
    assert.deepEqual(await missingIssuerWarnings({ metadata: { namespace: 'demo' }, spec: { tls: { issuerRef: issuer } } }, failing), []);
  });
});
