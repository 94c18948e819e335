import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planTls, PlanError, type DbTls } from '../../../src/opsmanager/reconfigure-tls/plan.ts';

const issuer = { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' };
const plain: DbTls = { sslMode: 'disable', clientAuthMode: 'md5' };
const withTls: DbTls = { tls: { issuerRef: issuer, certificates: [{ alias: 'client', subject: { organizations: ['postgres'] } }] }, sslMode: 'verify-full', clientAuthMode: 'cert' };

describe('ReconfigureTLS plan', () => {
  it('add: the guide request turns TLS on with its sslMode, clientAuthMode and certificates', () => {
    const p = planTls(plain, { sslMode: 'verify-full', clientAuthMode: 'cert', issuerRef: issuer, certificates: [{ alias: 'client', subject: { organizations: ['postgres'], organizationalUnits: ['client'] } }] }, 'md5');
    assert.equal(p.operation, 'add');
    assert.deepEqual(p.next, { tls: { issuerRef: issuer, certificates: [{ alias: 'client', subject: { organizations: ['postgres'], organizationalUnits: ['client'] } }] }, sslMode: 'verify-full', clientAuthMode: 'cert' });
    assert.equal(planTls(plain, { issuerRef: issuer }, 'md5').next.sslMode, 'verify-full');
    assert.throws(() => planTls(plain, { sslMode: 'require' }, 'md5'), /spec\.tls\.issuerRef: Required value/);
  });

  it('remove: sslMode disable, tls dropped, clientAuthMode moves off cert', () => {
    assert.deepEqual(planTls(withTls, { remove: true, clientAuthMode: 'md5' }, 'scram').next, { sslMode: 'disable', clientAuthMode: 'md5' });
    assert.deepEqual(planTls(withTls, { remove: true }, 'scram').next, { sslMode: 'disable', clientAuthMode: 'scram' });
    assert.throws(() => planTls(plain, { remove: true }, 'md5'), PlanError);
    assert.throws(() => planTls(withTls, { remove: true, rotateCertificates: true }, 'md5'), /cannot be combined/);
  });

  it('rotate keeps the spec and asks for re-issue; change-issuer and update are told apart', () => {
    const r = planTls(withTls, { rotateCertificates: true }, 'md5');
    assert.equal(r.operation, 'rotate');
    assert.equal(r.rotate, true);
    assert.deepEqual(r.next.tls, withTls.tls);
    const c = planTls(withTls, { issuerRef: { name: 'pg-new-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } }, 'md5');
    assert.equal(c.operation, 'change-issuer');
    assert.equal(c.next.tls!.issuerRef!.name, 'pg-new-issuer');
    const u = planTls(withTls, { certificates: [{ alias: 'server', dnsNames: ['db.example'] }] }, 'md5');
    assert.equal(u.operation, 'update');
    assert.deepEqual(u.next.tls!.certificates!.map((x) => x.alias), ['client', 'server']);
    assert.equal(planTls(withTls, { issuerRef: issuer }, 'md5').operation, 'none');
  });
});
