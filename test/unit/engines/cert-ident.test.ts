// cert lines map the whole subject (clientname=DN) through pg_ident.conf, and
// the map admits a CN only next to this database's marker. The wire behaviour
// is in test/integration/engines/cert-subject.test.ts; here the files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderPgHba, renderPgIdent, CERT_MAP } from '../../../src/engines/postgres/index.ts';
import { renderPostgresFiles } from '../../../src/provisioner/postgres/config.ts';

const lines = (s: string) => s.split('\n').filter((l) => l && !l.startsWith('#'));

describe('certificate subject mapping', () => {
  it('cert lines carry map= and clientname=DN; other methods do not', () => {
    const hba = lines(renderPgHba({ sslMode: 'verify-full', clientAuthMode: 'cert', clientCidrs: ['10.0.0.0/8'], replicationUser: 'postgres', certIdentMap: true }));
    assert.ok(hba.includes('hostssl   replication  postgres     10.0.0.0/8         cert map=pgtls-cert clientname=DN'), hba.join('\n'));
    assert.ok(hba.includes('hostssl   all          all          10.0.0.0/8         cert map=pgtls-cert clientname=DN'));
    assert.ok(hba.includes('hostnossl all          all          10.0.0.0/8         reject'));
    assert.ok(!renderPgHba({ sslMode: 'require', clientAuthMode: 'scram', certIdentMap: true }).includes('map='));
  });

  it('the ident map matches the marker as a whole attribute and maps the CN', () => {
    const ident = lines(renderPgIdent('pgtls:team-b/prod.v1'));
    assert.deepEqual(ident, [`${CERT_MAP} "/^(?=(?:.*[,+])?OU=pgtls:team-b/prod[.]v1(?:[,+]|$))(?:.*[,+])?CN=([^,+]+)(?:[,+].*)?$" \\1`]);
    // The same regex in JavaScript (PostgreSQL's ARE agrees on this subset) against RFC 2253 subjects.
    const re = new RegExp(ident[0]!.split('"')[1]!.slice(1));
    const user = (dn: string) => re.exec(dn)?.[1];
    assert.equal(user('CN=postgres,OU=pgtls:team-b/prod.v1'), 'postgres');
    assert.equal(user('OU=pgtls:team-b/prod.v1,O=kubedb,CN=postgres'), 'postgres');
    assert.equal(user('CN=postgres,OU=client+OU=pgtls:team-b/prod.v1'), 'postgres');
    assert.equal(user('CN=postgres,OU=pgtls:team-a/prod.v1'), undefined);
    assert.equal(user('CN=postgres,OU=pgtls:team-b/prodXv1'), undefined, 'a dot is a dot');
    assert.equal(user('CN=postgres,OU=pgtls:team-b/prod.v1-x'), undefined);
    assert.equal(user('CN=postgres,OU=xpgtls:team-b/prod.v1'), undefined);
    assert.equal(user('CN=postgres'), undefined);
    assert.throws(() => renderPgIdent('pgtls:a/b" all\nx'), /certificate marker/);
    assert.deepEqual(lines(renderPgIdent(undefined)), []);
  });

  it('the provisioner renders pg_ident.conf with the database marker and points ident_file at it', () => {
    const f = renderPostgresFiles({ name: 'prod', namespace: 'team-b' }, { sslMode: 'verify-full', clientAuthMode: 'cert' }, 'pw');
    assert.match(f['pg_ident.conf']!, /OU=pgtls:team-b\/prod\(/);
    assert.match(f['pg_hba.conf']!, /cert map=pgtls-cert clientname=DN/);
    assert.match(f['primary.conf']!, /^ident_file = '\/etc\/config\/pg_ident\.conf'$/m);
    assert.match(f['standby.conf']!, /^ident_file = '\/etc\/config\/pg_ident\.conf'$/m);
  });
});
