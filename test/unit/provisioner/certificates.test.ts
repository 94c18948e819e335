import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildCertificates, aliasSecretName } from '../../../src/provisioner/specs/certificates.ts';
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
    assert.deepEqual(client!.spec.subject, { organizations: ['postgres'], organizationalUnits: ['client'] });
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
});
