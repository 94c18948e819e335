import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { ensurePki } from '../../../src/local/controlplane/pki.ts';
import { runOk } from '../../helpers/exec.ts';
import { tmpDir, x509Field } from '../../helpers/tls.ts';

describe('local PKI', () => {
  it('issues serving and client certificates that verify against the CA, with 0600 keys, once', async () => {
    const dir = tmpDir('pgtls-pki-');
    const serving = [{ name: 'srv', commonName: 'srv', dnsNames: ['localhost', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1'] }];
    const clients = [{ name: 'admin', commonName: 'pgtls-admin', organizations: ['system:masters'] }];
    const pki = await ensurePki(dir, serving, clients);
    for (const name of ['srv', 'admin']) {
      assert.equal((await runOk('openssl', ['verify', '-CAfile', pki.caCert, pki.cert(name)])).trim(), `${pki.cert(name)}: OK`);
      assert.equal(statSync(pki.key(name)).mode & 0o777, 0o600);
    }
    assert.equal(statSync(pki.caKey).mode & 0o777, 0o600);
    assert.equal(statSync(pki.saKey).mode & 0o777, 0o600);
    assert.equal(await x509Field(pki.cert('admin'), '-subject'), 'subject=O=system:masters,CN=pgtls-admin');
    assert.match(await x509Field(pki.cert('srv'), '-ext'), /DNS:localhost, DNS:kubernetes\.default\.svc, IP Address:127\.0\.0\.1/);
    const purpose = await runOk('openssl', ['x509', '-in', pki.cert('srv'), '-noout', '-purpose']);
    assert.match(purpose, /SSL server : Yes/);
    assert.match(purpose, /SSL client : No/);
    // A second run keeps every file: the cluster's identity is stable across `up`s.
    const before = readFileSync(pki.cert('srv'), 'utf8') + readFileSync(pki.caCert, 'utf8') + readFileSync(pki.saKey, 'utf8');
    await ensurePki(dir, serving, clients);
    assert.equal(readFileSync(pki.cert('srv'), 'utf8') + readFileSync(pki.caCert, 'utf8') + readFileSync(pki.saKey, 'utf8'), before);
  });
});

describe('local PKI: SANs of an existing home', () => {
  it('re-issues a serving certificate that lacks a wanted SAN, keeping the CA', async () => {
    const { coversSans } = await import('../../../src/local/controlplane/pki.ts');
    const dir = tmpDir('pgtls-pki-san-');
    const base = { name: 'srv', commonName: 'srv', dnsNames: ['kubernetes.default.svc'], ipAddresses: ['127.0.0.1', '10.96.0.1'] };
    const pki = await ensurePki(dir, [base], []);
    const ca = readFileSync(pki.caCert, 'utf8');
    assert.ok(coversSans(readFileSync(pki.cert('srv'), 'utf8'), [{ type: 'ip', value: '10.96.0.1' }]));
    assert.ok(!coversSans(readFileSync(pki.cert('srv'), 'utf8'), [{ type: 'ip', value: '10.244.0.1' }]));
    await ensurePki(dir, [{ ...base, ipAddresses: [...base.ipAddresses, '10.244.0.1'] }], []);
    assert.match(await x509Field(pki.cert('srv'), '-ext'), /IP Address:127\.0\.0\.1, IP Address:10\.96\.0\.1, IP Address:10\.244\.0\.1/);
    assert.equal(readFileSync(pki.caCert, 'utf8'), ca);
    assert.equal((await runOk('openssl', ['verify', '-CAfile', pki.caCert, pki.cert('srv')])).trim(), `${pki.cert('srv')}: OK`);
  });
});
