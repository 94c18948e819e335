// Atomic installation and restore of config/TLS files on a real filesystem.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFiles, restoreFiles, tlsFileSpecs, configFileSpecs } from '../../integration/engines/harness/process/files.ts';

describe('installFiles', () => {
  it('installs with modes, reports what changed, leaves no temp files, and restores', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgtls-files-'));
    try {
      const paths = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), caFile: join(dir, 'ca.crt') };
      writeFileSync(paths.certFile, 'old-cert');
      const first = await installFiles(tlsFileSpecs(paths, { certPem: 'cert-1', keyPem: 'key-1', caPem: 'ca-1' }));
      assert.deepEqual(first.changed.sort(), [paths.caFile, paths.certFile, paths.keyFile].sort());
      assert.equal(statSync(paths.keyFile).mode & 0o777, 0o600);
      assert.equal(statSync(paths.certFile).mode & 0o777, 0o644);
      assert.deepEqual(readdirSync(dir).sort(), ['ca.crt', 'tls.crt', 'tls.key']);

      const again = await installFiles(tlsFileSpecs(paths, { certPem: 'cert-1', keyPem: 'key-1', caPem: 'ca-2' }));
      assert.deepEqual(again.changed, [paths.caFile], 'unchanged files are not rewritten');

      await restoreFiles(first.previous);
      assert.equal(readFileSync(paths.certFile, 'utf8'), 'old-cert');
      assert.deepEqual(readdirSync(dir), ['tls.crt'], 'files that did not exist before are removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives secret config files 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgtls-files-'));
    try {
      await installFiles(configFileSpecs(dir, new Map([['a.ini', 'x'], ['userlist.txt', 'y']]), new Set(['userlist.txt'])));
      assert.equal(statSync(join(dir, 'userlist.txt')).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'a.ini')).mode & 0o777, 0o644);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
