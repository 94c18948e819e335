// Certificates only for what they serve, at admission: requested SANs outside
// the database's own names, forged markers in subjects and ClusterIssuers off
// the operator's allow-list are refused with field paths; own names pass.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Postgres } from '../../../src/api/kubedb.com/v1/postgres.ts';
import type { PostgresOpsRequest } from '../../../src/api/ops.kubedb.com/v1alpha1/postgres-ops-request.ts';
import { formatFieldError } from '../../../src/webhook/field-error.ts';
import { runValidators } from '../../../src/webhook/validators/types.ts';
import { postgresValidators } from '../../../src/webhook/validators/postgres.ts';
import { opsCreateValidators } from '../../../src/webhook/validators/ops-request.ts';
import { defaultPostgres } from '../../../src/webhook/defaults/postgres.ts';
import { configureCertificatePolicy, OPEN_POLICY } from '../../../src/certs/policy.ts';
import { facts, fixture, PG_VERSIONS } from './helpers.ts';

const pgFacts = facts({ versions: PG_VERSIONS });
const basePg = defaultPostgres(fixture<Postgres>('postgres-ha-postgres.yaml'), pgFacts);
const issuer = { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' };
const withTls = (tls: Postgres['spec']['tls']): Postgres => ({ ...basePg, spec: { ...basePg.spec, tls, sslMode: 'verify-full' } });
const checkPg = (p: Postgres) => runValidators(postgresValidators, p, undefined, pgFacts).map(formatFieldError);
const NOT_OWN = "is not one of the database's own names (its Services, its pods, localhost) and the operator's --allow-certificate-names does not allow it";

describe('admission: certificate policy', () => {
  afterEach(() => configureCertificatePolicy(OPEN_POLICY));

  it('accepts the database own names (Services in every form, pods, standby, localhost)', () => {
    const dnsNames = ['ha-postgres', 'ha-postgres.demo.svc', 'ha-postgres-standby.demo.svc.cluster.local', 'ha-postgres-0.ha-postgres-pods.demo.svc', 'localhost'];
    assert.deepEqual(checkPg(withTls({ issuerRef: issuer, certificates: [{ alias: 'server', dnsNames, ipAddresses: ['127.0.0.1', '::1'] }] })), []);
  });

  const cases: [string, Postgres['spec']['tls'], string][] = [
    ['another namespace Service', { issuerRef: issuer, certificates: [{ alias: 'server', dnsNames: ['prod.team-b.svc'] }] }, `spec.tls.certificates[0].dnsNames[0]: Forbidden: "prod.team-b.svc" ${NOT_OWN}`],
    ['a wildcard over the namespace', { issuerRef: issuer, certificates: [{ alias: 'server', dnsNames: ['ha-postgres', '*.demo.svc'] }] }, `spec.tls.certificates[0].dnsNames[1]: Forbidden: "*.demo.svc" ${NOT_OWN}`],
    ['a public name', { issuerRef: issuer, certificates: [{ alias: 'server', dnsNames: ['www.example.com'] }] }, `spec.tls.certificates[0].dnsNames[0]: Forbidden: "www.example.com" ${NOT_OWN}`],
    ['an IP address', { issuerRef: issuer, certificates: [{ alias: 'server', ipAddresses: ['10.96.0.1'] }] }, `spec.tls.certificates[0].ipAddresses[0]: Forbidden: "10.96.0.1" ${NOT_OWN}`],
    ['a URI', { issuerRef: issuer, certificates: [{ alias: 'client', uris: ['spiffe://cluster.local/ns/team-b/sa/prod'] }] }, `spec.tls.certificates[0].uris[0]: Forbidden: "spiffe://cluster.local/ns/team-b/sa/prod" ${NOT_OWN}`],
    ['an email', { issuerRef: issuer, certificates: [{ alias: 'client', emailAddresses: ['admin@example.com'] }] }, `spec.tls.certificates[0].emailAddresses[0]: Forbidden: "admin@example.com" ${NOT_OWN}`],
    ['a forged marker', { issuerRef: issuer, certificates: [{ alias: 'client', subject: { organizationalUnits: ['pgtls:team-b/prod'] } }] }, 'spec.tls.certificates[0].subject.organizationalUnits[0]: Forbidden: "pgtls:team-b/prod" may not contain "pgtls:" or a backslash: the operator marks its certificates with "pgtls:<namespace>/<name>"'],
    ['a backslash in a subject', { issuerRef: issuer, certificates: [{ alias: 'client', subject: { organizations: ['a\\,OU=x'] } }] }, 'spec.tls.certificates[0].subject.organizations[0]: Forbidden: "a\\\\,OU=x" may not contain "pgtls:" or a backslash: the operator marks its certificates with "pgtls:<namespace>/<name>"'],
  ];
  for (const [name, tls, message] of cases) {
    it(`refuses ${name}`, () => assert.deepEqual(checkPg(withTls(tls)), [message]));
  }

  it('allows what the administrator allows (--allow-certificate-names)', () => {
    configureCertificatePolicy({ allowedNames: ['*.db.example.com', '10.96.0.0/12', 'uri:spiffe://cluster.local/*'] });
    const tls = { issuerRef: issuer, certificates: [{ alias: 'server', dnsNames: ['pg.db.example.com'], ipAddresses: ['10.96.0.1'], uris: ['spiffe://cluster.local/x'] }] };
    assert.deepEqual(checkPg(withTls(tls)), []);
    assert.deepEqual(checkPg(withTls({ ...tls, certificates: [{ alias: 'server', dnsNames: ['a.b.db.example.com'], ipAddresses: ['10.112.0.1'] }] })), [
      `spec.tls.certificates[0].dnsNames[0]: Forbidden: "a.b.db.example.com" ${NOT_OWN}`,
      `spec.tls.certificates[0].ipAddresses[0]: Forbidden: "10.112.0.1" ${NOT_OWN}`,
    ]);
  });

  it('restricts ClusterIssuers when --allowed-cluster-issuers is set; Issuers stay free', () => {
    const ci = (name: string) => ({ name, kind: 'ClusterIssuer', apiGroup: 'cert-manager.io' });
    assert.deepEqual(checkPg(withTls({ issuerRef: ci('shared') })), [], 'no restriction by default');
    configureCertificatePolicy({ allowedNames: [], allowedClusterIssuers: ['team-ca'] });
    assert.deepEqual(checkPg(withTls({ issuerRef: ci('team-ca') })), []);
    assert.deepEqual(checkPg(withTls({ issuerRef: issuer })), []);
    assert.deepEqual(checkPg(withTls({ issuerRef: ci('shared') })), [
      'spec.tls.issuerRef.name: Forbidden: "shared" the operator does not allow this ClusterIssuer (allowed ClusterIssuers: "team-ca"); use an Issuer in the namespace or ask the administrator',
    ]);
    assert.deepEqual(checkPg(withTls({ issuerRef: issuer, certificates: [{ alias: 'client', issuerRef: ci('other') }] })), [
      'spec.tls.certificates[0].issuerRef.name: Forbidden: "other" the operator does not allow this ClusterIssuer (allowed ClusterIssuers: "team-ca"); use an Issuer in the namespace or ask the administrator',
    ]);
    configureCertificatePolicy({ allowedNames: [], allowedClusterIssuers: [] });
    assert.deepEqual(checkPg(withTls({ issuerRef: ci('team-ca') })), [
      'spec.tls.issuerRef.name: Forbidden: "team-ca" the operator does not allow this ClusterIssuer (no ClusterIssuer is allowed); use an Issuer in the namespace or ask the administrator',
    ]);
  });

  it('checks ReconfigureTLS requests against the target database names', () => {
    const addTls = fixture<PostgresOpsRequest>('postgres-add-tls.yaml');
    const ops = (tls: PostgresOpsRequest['spec']['tls']): PostgresOpsRequest => ({ ...addTls, spec: { ...addTls.spec, tls } });
    const check = (o: PostgresOpsRequest) => runValidators(opsCreateValidators, o, undefined, facts({ target: basePg })).map(formatFieldError);
    assert.deepEqual(check(ops({ issuerRef: issuer, certificates: [{ alias: 'server', dnsNames: ['ha-postgres-standby.demo.svc'] }] })), []);
    assert.deepEqual(check(ops({ issuerRef: issuer, certificates: [{ alias: 'server', dnsNames: ['prod.team-b.svc.cluster.local'] }] })), [
      `spec.tls.certificates[0].dnsNames[0]: Forbidden: "prod.team-b.svc.cluster.local" ${NOT_OWN}`,
    ]);
  });

  it('does not re-judge an unchanged TLS block on update (the policy may have tightened since)', () => {
    const admitted = withTls({ issuerRef: issuer, certificates: [{ alias: 'server', dnsNames: ['pg.example.com'] }] });
    const update = (p: Postgres, old: Postgres) => runValidators(postgresValidators, p, old, facts({ versions: PG_VERSIONS, operation: 'UPDATE' })).map(formatFieldError);
    assert.deepEqual(update({ ...admitted, metadata: { ...admitted.metadata, finalizers: ['kubedb.com'] } }, admitted), []);
    const changed = withTls({ issuerRef: issuer, certificates: [{ alias: 'server', dnsNames: ['pg.example.com', 'other.example.com'] }] });
    assert.equal(update(changed, admitted).length, 2, 'a changed block is judged whole');
  });

  it('refuses a bad --allow-certificate-names pattern by name', () => {
    assert.throws(() => configureCertificatePolicy({ allowedNames: ['exa mple'] }), /allowed certificate name "exa mple": expected a DNS name or wildcard/);
    assert.throws(() => configureCertificatePolicy({ allowedNames: ['10.0.0.0/40'] }), /prefix length must be 0\.\.32/);
  });
});
