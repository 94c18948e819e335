// Issue 11 item 6, the part the engine cannot do: Pgpool-II maps a client
// certificate's CN only, so admission warns (never refuses) when a Pgpool turns
// to cert login, naming the field, what is left open and what to do.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { admissionKindFor } from '../../../src/webhook/kinds.ts';
import { validate, type AdmissionRequest } from '../../../src/webhook/review.ts';
import type { Lookups } from '../../../src/webhook/facts.ts';
import { cnOnlyWarnings } from '../../../src/webhook/cn-only-warning.ts';
import { configureOwnClientCa } from '../../../src/provisioner/specs/client-ca.ts';
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

const BACKEND = "and, in every case, one from its backend's CA (Pgpool-II verifies clients and its backend with one CA file)";
const ISSUER = (path: string, which: string) =>
  `${path}: cert on a Pgpool checks only the client certificate's CN (Pgpool-II has no subject map): any certificate with CN=<user> from the CA of ${which} logs in as that user, ${BACKEND}; use an Issuer whose CA signs for no other database, or run the operator with --own-client-ca=always (docs/security.md)`;
const OWN = (path: string) =>
  `${path}: cert on a Pgpool checks only the client certificate's CN (Pgpool-II has no subject map): its client certificates come from a CA of its own, so only certificates that CA signs log in, ${BACKEND}; give the backend an issuer no other tenant can use (docs/security.md)`;
const PGPOOL = ISSUER('spec.clientAuthMode', 'its Issuer');

describe('cert login on a Pgpool: admission warns what the CN-only check leaves open', () => {
  after(() => configureOwnClientCa('cluster-issuers'));

  it('the guide\'s PgpoolOpsRequest (clientAuthMode: cert, issuer unchanged) is admitted with the warning', async () => {
    assert.deepEqual(await warnings('pgpoolopsrequests', fixture('pgpool-add-tls.yaml')), [ISSUER('spec.tls.clientAuthMode', 'its Issuer')]);
  });

  it('a Pgpool created with clientAuthMode: cert; nothing for md5, nor for an update that keeps cert', async () => {
    const pp = fixture<{ spec: Record<string, unknown> }>('pgpool-pgpool-catalog.yaml');
    const withCert = { ...pp, spec: { ...pp.spec, sslMode: 'require', clientAuthMode: 'cert', tls: { issuerRef: { name: 'pgpool-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } } } };
    assert.deepEqual(await warnings('pgpools', withCert), [PGPOOL]);
    assert.deepEqual(await warnings('pgpools', pp), []);
    assert.deepEqual(await warnings('pgpools', withCert, withCert), []);
    assert.deepEqual(await warnings('pgpools', withCert, pp), [PGPOOL]);
  });

  it('with a ClusterIssuer (or --own-client-ca=always) the Pgpool has its own client CA: only the backend\'s CA is left to warn about', () => {
    const tls = (kind: string) => ({ issuerRef: { name: 'shared', kind, apiGroup: 'cert-manager.io' } });
    assert.deepEqual(cnOnlyWarnings({ kind: 'Pgpool', spec: { clientAuthMode: 'cert', tls: tls('ClusterIssuer') } }), [OWN('spec.clientAuthMode')]);
    assert.deepEqual(cnOnlyWarnings({ kind: 'PgpoolOpsRequest', spec: { tls: { clientAuthMode: 'cert', ...tls('ClusterIssuer') } } }), [OWN('spec.tls.clientAuthMode')]);
    assert.deepEqual(cnOnlyWarnings({ kind: 'PgpoolOpsRequest', spec: { tls: { clientAuthMode: 'cert' } } }), [ISSUER('spec.tls.clientAuthMode', 'its Issuer (a ClusterIssuer gets a client CA of its own)')]);
    configureOwnClientCa('always');
    assert.deepEqual(cnOnlyWarnings({ kind: 'Pgpool', spec: { clientAuthMode: 'cert', tls: tls('Issuer') } }), [OWN('spec.clientAuthMode')]);
    assert.deepEqual(cnOnlyWarnings({ kind: 'PgpoolOpsRequest', spec: { tls: { clientAuthMode: 'cert' } } }), [OWN('spec.tls.clientAuthMode')]);
  });

  it('nothing for PgBouncer (no cert login in its API) nor Postgres (it maps the full subject)', () => {
    assert.deepEqual(cnOnlyWarnings({ kind: 'PgBouncer', spec: { connectionPool: { authType: 'cert' } } }), []);
    assert.deepEqual(cnOnlyWarnings({ kind: 'PgBouncerOpsRequest', spec: { tls: { clientAuthMode: 'cert' } } }), []);
    assert.deepEqual(cnOnlyWarnings({ kind: 'Postgres', spec: { clientAuthMode: 'cert' } }), []);
    assert.deepEqual(cnOnlyWarnings({ kind: 'PostgresOpsRequest', spec: { tls: { clientAuthMode: 'cert' } } }), []);
  });
});
