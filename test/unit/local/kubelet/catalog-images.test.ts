import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { catalogArchivePath, importCatalogImages } from '../../../../src/local/kubelet/catalog-images.ts';
import { CATALOG_IMAGES } from '../../../../src/images/index.ts';

describe('kubelet runtime: the catalog images in containerd', () => {
  it('keeps one archive per image digest and name, with no ":" in the path (skopeo reads it as a separator)', () => {
    const d = 'ab'.repeat(32);
    const p = catalogArchivePath('localhost/pgtls/postgres:18.3', d, '/cache/images');
    assert.equal(p, '/cache/images/oci-archives/abababababababab-localhost_pgtls_postgres_18.3.tar');
    assert.notEqual(catalogArchivePath('localhost/pgtls/postgres:15', d, '/c'), catalogArchivePath('localhost/pgtls/postgres:15-bookworm', d, '/c'));
    assert.ok(!p.includes(':'));
  });

  it('imports nothing containerd already has (no build, no export)', async () => {
    const calls: string[][] = [];
    const ctr = (args: string[]) => {
      calls.push(args);
      return args.join(' ') === 'images ls -q' ? ['sha256:abc', ...CATALOG_IMAGES].join('\n') + '\n' : '';
    };
    assert.deepEqual(await importCatalogImages(ctr, () => {}), []);
    assert.deepEqual(calls, [['images', 'ls', '-q']]);
  });

  it('the catalog images include every kind\'s default', () => {
    for (const r of ['postgres:15', 'postgres:18.3', 'pgbouncer:1.18.0', 'pgpool:4.3.5']) assert.ok(CATALOG_IMAGES.includes(`localhost/pgtls/${r}`), r);
  });
});
