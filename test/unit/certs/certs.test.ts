import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { issueCa, issueLeaf, type IssuedCa, type KeyPairPem } from '../../../src/certs/issue.ts';
import { summarize, keyMatchesCert, coversHost, expiresWithin, verifyChain, fingerprint256 } from '../../../src/certs/inspect.ts';
import { mergeCaBundles, transitionBundle, removeFromBundle, bundleFingerprints, sameBundle } from '../../../src/certs/bundle.ts';
import { parseCertificates, parsePrivateKey, pemBlocks } from '../../../src/certs/pem.ts';
import { tmpDir } from '../../helpers/tls.ts';

describe('certs', () => {
  let caA: IssuedCa;
  let caB: IssuedCa;
  let leaf: KeyPairPem;
  before(async () => {
    [caA, caB] = await Promise.all([issueCa({ commonName: 'A', algorithm: 'rsa' }), issueCa({ commonName: 'B' })]);
    leaf = await issueLeaf(caA, { commonName: 'localhost', usage: 'server', dnsNames: ['localhost', '*.pg.demo.svc'], ipAddresses: ['127.0.0.1'], serial: '0a001', algorithm: 'rsa' });
  });

  it('summarizes a certificate the way openssl sees it', () => {
    const s = summarize(leaf.certPem);
    assert.equal(s.serial, 'A001');
    assert.deepEqual(s.dnsNames, ['localhost', '*.pg.demo.svc']);
    assert.deepEqual(s.ipAddresses, ['127.0.0.1']);
    assert.equal(s.isCa, false);
    const dir = tmpDir('pgtls-certs-');
    try {
      writeFileSync(join(dir, 'c.pem'), leaf.certPem);
      const out = execFileSync('openssl', ['x509', '-in', join(dir, 'c.pem'), '-noout', '-fingerprint', '-sha256']).toString();
      assert.equal(out.trim().split('=')[1], s.fingerprint256);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells whether a key belongs to a certificate', async () => {
    const other = await issueLeaf(caA, { commonName: 'x', usage: 'client', algorithm: 'rsa' });
    assert.equal(keyMatchesCert(leaf.certPem, leaf.keyPem), true);
    assert.equal(keyMatchesCert(leaf.certPem, other.keyPem), false);
    assert.throws(() => parsePrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), /not a usable private key/);
  });

  it('verifies chains against one or several CAs, and rejects the wrong CA and expired leaves', async () => {
    assert.equal(verifyChain(leaf.certPem, caA.certPem).ok, true);
    const r = verifyChain(leaf.certPem, caB.certPem);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /no trusted issuer/);
    assert.equal(verifyChain(leaf.certPem, transitionBundle(caB.certPem, caA.certPem)).ok, true);
    const expired = await issueLeaf(caA, { commonName: 'old', usage: 'server', dnsNames: ['x'], algorithm: 'rsa', notBefore: new Date(Date.now() - 86400_000 * 3), notAfter: new Date(Date.now() - 86400_000) });
    const e = verifyChain(expired.certPem, caA.certPem);
    assert.equal(e.ok, false);
    assert.match(e.ok ? '' : e.reason, /not valid at/);
  });

  it('checks SAN coverage for names, wildcards and IPs', () => {
    assert.equal(coversHost(leaf.certPem, 'localhost'), true);
    assert.equal(coversHost(leaf.certPem, 'db.pg.demo.svc'), true);
    assert.equal(coversHost(leaf.certPem, 'wrong.example'), false);
    assert.equal(coversHost(leaf.certPem, '127.0.0.1'), true);
    assert.equal(coversHost(leaf.certPem, '127.0.0.2'), false);
  });

  it('knows when a certificate expires', () => {
    assert.equal(expiresWithin(leaf.certPem, 86400_000), false);
    assert.equal(expiresWithin(leaf.certPem, 91 * 86400_000), true);
  });

  it('builds CA transition bundles: old then new, deduplicated, and drops the old CA afterwards', () => {
    const both = transitionBundle(caA.certPem, caB.certPem);
    assert.deepEqual(bundleFingerprints(both), [fingerprint256(caA.certPem), fingerprint256(caB.certPem)]);
    assert.equal(mergeCaBundles(both, caB.certPem, caA.certPem), both);
    assert.equal(pemBlocks(both).length, 2);
    const after = removeFromBundle(both, caA.certPem);
    assert.deepEqual(bundleFingerprints(after), [fingerprint256(caB.certPem)]);
    assert.equal(sameBundle(both, transitionBundle(caB.certPem, caA.certPem)), true);
    assert.equal(sameBundle(both, after), false);
    // Non-certificate blocks (a key pasted by mistake) never end up in a trust bundle.
    assert.equal(parseCertificates(mergeCaBundles(caA.certPem + caA.keyPem)).length, 1);
  });
});
