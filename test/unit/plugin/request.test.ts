// tls <action>: the ops requests written are the guides' manifests, and bad
// flags are refused with the flag and the allowed values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KINDS } from '../../../src/cli/plugin/kinds.ts';
import { buildTlsRequest, notApplicable, parseSubject } from '../../../src/cli/plugin/tls/request.ts';

const [pg, pb, pp] = KINDS;
const guide = (f: string) => parse(readFileSync(join(import.meta.dirname, '..', '..', 'e2e', 'fixtures', f), 'utf8'));

describe('plugin: ReconfigureTLS requests', () => {
  it('add, rotate, change-issuer and remove write the spec of the guides\' manifests', () => {
    const cases: [ReturnType<typeof buildTlsRequest>, string][] = [
      [buildTlsRequest(pg!, 'demo', 'ha-postgres', 'add', { name: 'add-tls', issuer: 'pg-issuer', sslMode: 'verify-full', clientAuthMode: 'cert', subject: ['client=O=postgres,OU=client'], apply: 'Always' }), 'postgres-add-tls.yaml'],
      [buildTlsRequest(pg!, 'demo', 'ha-postgres', 'rotate', { name: 'rotate-tls' }), 'postgres-rotate-tls.yaml'],
      [buildTlsRequest(pg!, 'demo', 'ha-postgres', 'change-issuer', { name: 'change-issuer', issuer: 'pg-new-issuer' }), 'postgres-change-issuer.yaml'],
      [buildTlsRequest(pg!, 'demo', 'ha-postgres', 'remove', { name: 'remove-tls', clientAuthMode: 'md5', timeout: '5m', apply: 'IfReady' }), 'postgres-remove-tls.yaml'],
      [buildTlsRequest(pp!, 'demo', 'pgpool', 'add', { name: 'ppops-add-tls', issuer: 'pgpool-issuer', sslMode: 'require', clientAuthMode: 'cert', subject: ['client=O=pgpool,OU=client'], timeout: '5m', apply: 'IfReady' }), 'pgpool-add-tls.yaml'],
      [buildTlsRequest(pb!, 'demo', 'pb', 'remove', { name: 'remove-tls', clientAuthMode: 'md5', timeout: '5m', apply: 'IfReady' }), 'pgbouncer-remove-tls.yaml'],
    ];
    for (const [req, file] of cases) {
      const want = guide(file);
      assert.deepEqual(JSON.parse(JSON.stringify(req)), want, file);
    }
  });

  it('without --name the API server names it: <db>-<action>-tls-xxxxx', () => {
    const r = buildTlsRequest(pg!, 'demo', 'ha-postgres', 'change-issuer', { issuer: 'x' });
    assert.deepEqual(r.metadata, { generateName: 'ha-postgres-issuer-tls-', namespace: 'demo' });
    const long = buildTlsRequest(pg!, 'demo', 'a'.repeat(63), 'rotate', {});
    assert.equal((long.metadata as { generateName: string }).generateName.length, 58);
  });

  it('refuses bad flags naming the flag and the allowed values', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => buildTlsRequest(pg!, 'demo', 'x', 'add', {}), /tls add needs --issuer <name>/],
      [() => buildTlsRequest(pg!, 'demo', 'x', 'add', { issuer: 'i', sslMode: 'verify' }), /--ssl-mode verify: allowed values are allow, prefer, require, verify-ca, verify-full/],
      [() => buildTlsRequest(pb!, 'demo', 'x', 'add', { issuer: 'i', clientAuthMode: 'cert' }), /--client-auth-mode cert: allowed values are md5, scram-sha-256/],
      [() => buildTlsRequest(pg!, 'demo', 'x', 'remove', { clientAuthMode: 'cert' }), /removing TLS needs md5 or scram/],
      [() => buildTlsRequest(pg!, 'demo', 'x', 'add', { issuer: 'i', sslMode: 'disable' }), /--ssl-mode disable turns TLS off; use tls remove/],
      [() => buildTlsRequest(pg!, 'demo', 'x', 'rotate', { issuer: 'i' }), /--issuer is for tls add and tls change-issuer, not tls rotate/],
      [() => buildTlsRequest(pg!, 'demo', 'x', 'rotate', { timeout: 'soon' }), /--timeout soon: expected a duration like 5m/],
      [() => buildTlsRequest(pg!, 'demo', 'x', 'rotate', { apply: 'Now' }), /--apply Now: allowed values are IfReady, Always/],
      [() => buildTlsRequest(pg!, 'demo', 'x', 'add', { issuer: 'i', issuerKind: 'CA' }), /--issuer-kind CA: allowed values are Issuer, ClusterIssuer/],
      [() => parseSubject('client'), /expected <alias>=<DN>/],
      [() => parseSubject('client=CN=x'), /"CN=x" is not one of O=, OU=, C=, L=, ST=/],
    ];
    for (const [fn, re] of bad) assert.throws(fn, re);
  });

  it('says when the action does not fit the database as it is', () => {
    const plain = { metadata: { name: 'pg' }, spec: {} };
    const tls = { metadata: { name: 'pg' }, spec: { tls: { issuerRef: { kind: 'Issuer', name: 'pg-issuer' } } } };
    assert.equal(notApplicable(pg!, plain, 'rotate', 'demo'), 'Postgres demo/pg has no TLS (spec.tls.issuerRef is not set); add it first: kubectl pgtls tls add pg/pg --issuer <issuer>');
    assert.match(notApplicable(pg!, tls, 'add', 'demo')!, /already has TLS \(issuer Issuer\/pg-issuer\)/);
    assert.equal(notApplicable(pg!, tls, 'remove', 'demo'), undefined);
    assert.equal(notApplicable(pg!, plain, 'add', 'demo'), undefined);
  });
});
