// Issue 11 item 6, the part the engines cannot do: PgBouncer 1.18 and
// Pgpool-II 4.3 map a client certificate's CN only, so admission warns (never
// refuses) when a pooler turns to cert login, naming the field and what to do.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { admissionKindFor } from '../../../src/webhook/kinds.ts';
import { validate, type AdmissionRequest } from '../../../src/webhook/review.ts';
import type { Lookups } from '../../../src/webhook/facts.ts';
import { cnOnlyWarnings } from '../../../src/webhook/cn-only-warning.ts';
import { fixture, PB_VERSIONS, PG_VERSIONS, PP_VERSIONS } from './helpers.ts';

const lookups: Lookups = {
  listVersions: async (kind) => (kind === 'PgBouncer' ? PB_VERSIONS : kind === 'Pgpool' ? PP_VERSIONS : PG_VERSIONS),
  // The guides' objects: the Pgpool an ops request names, the Postgres a Pgpool names.
  getDatabase: async (kind, namespace, name) => ({ apiVersion: 'kubedb.com/v1', kind, metadata: { name, namespace }, spec: { version: kind === 'Pgpool' ? '4.3.5' : '15', authSecret: { name: `${name}-auth` } } }) as never,
  getIssuer: async () => ({}),
  reviewAccess: async () => true,
};

async function warnings(plural: string, object: unknown, old?: unknown): Promise<string[]> {
  const k = admissionKindFor(plural)!;
  const req: AdmissionRequest = {
    uid: 'u', kind: { group: k.info.group, version: k.info.version, kind: k.info.kind }, operation: old ? 'UPDATE' : 'CREATE',
    name: 'x', namespace: 'demo', object, oldObject: old, userInfo: { username: 'dev', groups: [] },
  };
  const r = await validate(k, req, lookups);
  assert.equal(r.allowed, true, r.status?.message);
  return r.warnings ?? [];
}

const PGPOOL = "spec.clientAuthMode: cert on a Pgpool checks only the client certificate's CN (Pgpool-II 4.3 has no subject map): any certificate with CN=<user> from a CA it trusts logs in as that user; give it an Issuer with its own CA that no other database uses (docs/security.md)";

describe('cert login on a pooler: admission warns that only the CN is checked', () => {
  it('the guide\'s PgpoolOpsRequest (clientAuthMode: cert) is admitted with the warning', async () => {
    assert.deepEqual(await warnings('pgpoolopsrequests', fixture('pgpool-add-tls.yaml')), [
      "spec.tls.clientAuthMode: cert on a Pgpool checks only the client certificate's CN (Pgpool-II 4.3 has no subject map): any certificate with CN=<user> from a CA it trusts logs in as that user; give it an Issuer with its own CA that no other database uses (docs/security.md)",
    ]);
  });

  it('a Pgpool created with clientAuthMode: cert; nothing for md5, nor for an update that keeps cert', async () => {
    const pp = fixture<{ spec: Record<string, unknown> }>('pgpool-pgpool-catalog.yaml');
    const withCert = { ...pp, spec: { ...pp.spec, sslMode: 'require', clientAuthMode: 'cert', tls: { issuerRef: { name: 'pgpool-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } } } };
    assert.deepEqual(await warnings('pgpools', withCert), [PGPOOL]);
    assert.deepEqual(await warnings('pgpools', pp), []);
    assert.deepEqual(await warnings('pgpools', withCert, withCert), []);
    assert.deepEqual(await warnings('pgpools', withCert, pp), [PGPOOL]);
  });

  it('PgBouncer: connectionPool.authType cert, and a PgBouncerOpsRequest turning it on', () => {
    assert.deepEqual(cnOnlyWarnings({ kind: 'PgBouncer', spec: { connectionPool: { authType: 'cert' } } }), [
      "spec.connectionPool.authType: cert on a PgBouncer checks only the client certificate's CN (PgBouncer 1.18 has no subject map): any certificate with CN=<user> from a CA it trusts logs in as that user; give it an Issuer with its own CA that no other database uses (docs/security.md)",
    ]);
    assert.equal(cnOnlyWarnings({ kind: 'PgBouncerOpsRequest', spec: { tls: { clientAuthMode: 'cert' } } })[0]?.split(':')[0], 'spec.tls.clientAuthMode');
    assert.deepEqual(cnOnlyWarnings({ kind: 'PgBouncer', spec: { connectionPool: { authType: 'scram' } } }), []);
    // PostgreSQL maps the full subject (its own marker), so nothing to warn about there.
    assert.deepEqual(cnOnlyWarnings({ kind: 'Postgres', spec: { clientAuthMode: 'cert' } }), []);
    assert.deepEqual(cnOnlyWarnings({ kind: 'PostgresOpsRequest', spec: { tls: { clientAuthMode: 'cert' } } }), []);
  });
});
