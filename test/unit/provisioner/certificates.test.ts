import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildCertificates, aliasSecretName } from '../../../src/provisioner/specs/certificates.ts';
import { CertificatePolicyError } from '../../../src/certs/policy.ts';
import { pgbouncer, postgres } from '../../../src/kinds/index.ts';
const KINDS = { Postgres: postgres.info, PgBouncer: pgbouncer.info };

const db = { name: 'ha-postgres', namespace: 'demo', uid: 'u1' };

describe('certificate specs', () => {
  it('makes server, client and metrics-exporter Certificates with KubeDB secret names', () => {
    const certs = buildCertificates({
      info: KINDS.Postgres,
      db,
      tls: {
        issuerRef: { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' },
        certificates: [{ alias: 'client', subject: { organizations: ['postgres'], organizationalUnits: ['client'] } }],
      },
      services: ['ha-postgres', 'ha-postgres-standby'],
      podDomains: ['*.ha-postgres-pods.demo.svc'],
    });
    assert.deepEqual(certs.map((c) => c.metadata.name), ['ha-postgres-server-cert', 'ha-postgres-client-cert', 'ha-postgres-metrics-exporter-cert']);
    const [server, client] = certs;
    assert.deepEqual(server!.spec.issuerRef, { group: 'cert-manager.io', kind: 'Issuer', name: 'pg-issuer' });
    assert.ok((server!.spec.dnsNames as string[]).includes('ha-postgres.demo.svc'));
    assert.ok((server!.spec.dnsNames as string[]).includes('ha-postgres-standby.demo.svc.cluster.local'));
    assert.ok((server!.spec.dnsNames as string[]).includes('*.ha-postgres-pods.demo.svc'));
    assert.deepEqual(server!.spec.ipAddresses, ['127.0.0.1']);
    assert.equal(client!.spec.commonName, 'postgres');
    // The user's subject, plus the database's marker that PostgreSQL's ident map requires.
    assert.deepEqual(client!.spec.subject, { organizations: ['postgres'], organizationalUnits: ['client', 'pgtls:demo/ha-postgres'] });
    assert.deepEqual(certs[2]!.spec.subject, { organizationalUnits: ['pgtls:demo/ha-postgres'] });
    assert.equal(server!.spec.subject, undefined, 'the server certificate logs in nowhere: no marker');
    assert.deepEqual(client!.spec.usages, ['digital signature', 'key encipherment', 'client auth']);
    assert.equal(server!.metadata.ownerReferences.length, 1);
  });

  it('honours a per-certificate issuer and secret name; PgBouncer client CN is pgbouncer', () => {
    const tls = {
      issuerRef: { name: 'a', kind: 'Issuer' },
      certificates: [{ alias: 'server', secretName: 'custom', issuerRef: { name: 'b', kind: 'ClusterIssuer', apiGroup: 'cert-manager.io' } }],
    };
    const certs = buildCertificates({ info: KINDS.PgBouncer, db: { ...db, name: 'pb' }, tls, services: ['pb'], podDomains: [] });
    assert.equal(certs[0]!.metadata.name, 'custom');
    assert.deepEqual(certs[0]!.spec.issuerRef, { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'b' });
    assert.equal(certs[1]!.spec.commonName, 'pgbouncer');
    assert.equal(aliasSecretName('pb', tls, 'client'), 'pb-client-cert');
  });

  it('builds no Certificate the policy refuses: foreign names, forged markers, ClusterIssuers off the list', () => {
    const base = { info: KINDS.Postgres, db, services: ['ha-postgres'], podDomains: ['*.ha-postgres-pods.demo.svc'] };
    const issuerRef = { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' };
    const refused = (tls: Parameters<typeof buildCertificates>[0]['tls'], policy = { allowedNames: [] as string[] }) => {
      try {
        buildCertificates({ ...base, tls, policy });
      } catch (err) {
        assert.ok(err instanceof CertificatePolicyError);
        return err.message;
      }
      assert.fail('built');
    };
    assert.match(refused({ issuerRef, certificates: [{ alias: 'server', dnsNames: ['prod.team-b.svc'] }] }), /^certificate request refused: spec\.tls\.certificates\[0\]\.dnsNames\[0\]: "prod\.team-b\.svc" is not one of the database's own names/);
    assert.match(refused({ issuerRef, certificates: [{ alias: 'client', subject: { organizationalUnits: ['pgtls:team-b/prod'] } }] }), /subject\.organizationalUnits\[0\]: "pgtls:team-b\/prod" may not contain "pgtls:"/);
    assert.match(refused({ issuerRef: { name: 'shared', kind: 'ClusterIssuer' } }, { allowedNames: [], allowedClusterIssuers: ['team-ca'] } as never), /issuerRef\.name: "shared" the operator does not allow this ClusterIssuer/);
    const ok = buildCertificates({ ...base, tls: { issuerRef, certificates: [{ alias: 'server', dnsNames: ['ha-postgres-1.ha-postgres-pods.demo.svc', 'pg.example.com'] }] }, policy: { allowedNames: ['pg.example.com'] } });
    assert.ok((ok[0]!.spec.dnsNames as string[]).includes('pg.example.com'));
  });
});
