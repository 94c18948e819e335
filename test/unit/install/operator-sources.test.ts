import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { operatorSourceDigest, readOperatorBuild, writeOperatorBuild } from '../../../src/install/operator-sources.ts';
import { operatorImageSpec } from '../../../src/install/operator-image.ts';
import { tmpDir } from '../../helpers/tls.ts';

function repo(): string {
  const root = tmpDir('pgtls-sources-');
  mkdirSync(join(root, 'src', 'operator'), { recursive: true });
  mkdirSync(join(root, 'scripts'));
  mkdirSync(join(root, 'test'));
  writeFileSync(join(root, 'package.json'), '{"name":"pgtls"}');
  writeFileSync(join(root, 'package-lock.json'), '{}');
  writeFileSync(join(root, 'src', 'operator', 'main.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'scripts', 'build.mjs'), '// build\n');
  writeFileSync(join(root, 'test', 'x.test.ts'), '// a test\n');
  return root;
}

describe('operator image sources digest: an unchanged tree reuses the image built from it', () => {
  const spec = operatorImageSpec('0.1.0');

  it('is stable, and changes with a source file, a new file, the lockfile or the image config; tests do not count', () => {
    const root = repo();
    const d0 = operatorSourceDigest(root, spec);
    assert.match(d0, /^[0-9a-f]{64}$/);
    assert.equal(operatorSourceDigest(root, spec), d0);
    writeFileSync(join(root, 'test', 'x.test.ts'), '// changed test\n');
    assert.equal(operatorSourceDigest(root, spec), d0, 'tests are not in the image');
    writeFileSync(join(root, 'src', 'operator', 'main.ts'), 'export const a = 2;\n');
    const d1 = operatorSourceDigest(root, spec);
    assert.notEqual(d1, d0);
    writeFileSync(join(root, 'src', 'operator', 'extra.ts'), '');
    const d2 = operatorSourceDigest(root, spec);
    assert.notEqual(d2, d1);
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3}');
    const d3 = operatorSourceDigest(root, spec);
    assert.notEqual(d3, d2);
    assert.notEqual(operatorSourceDigest(root, operatorImageSpec('0.2.0')), d3);
  });

  it('records a build and reads it back; a damaged record is ignored', () => {
    const store = tmpDir('pgtls-store-');
    const sources = 'a'.repeat(64);
    assert.equal(readOperatorBuild(sources, store), undefined);
    writeOperatorBuild(sources, { ref: 'localhost/pgtls/operator:0.1.0', digest: 'b'.repeat(64) }, store);
    assert.deepEqual(readOperatorBuild(sources, store), { ref: 'localhost/pgtls/operator:0.1.0', digest: 'b'.repeat(64) });
    writeFileSync(join(store, 'operator-builds', `${sources}.json`), '{"ref":"x","digest":"../../etc"}');
    assert.equal(readOperatorBuild(sources, store), undefined);
  });
});
