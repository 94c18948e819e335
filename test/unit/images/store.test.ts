// The image store: paths into a rootfs never follow its symlinks onto the host, content digests,
// the .deb cache merge, and the cache logic of ensureImage/listImages/layerImage on a small tree.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearDev, globMatcher, mergeDebs, mountsUnder, rootfsPath, treeDigest, treeSize } from '../../../src/images/fs.ts';
import { ensureImage, ImageNotBuiltError, layerImage, listImages, resolveImageRef } from '../../../src/images/registry.ts';
import { storeLayout, type ImageMeta } from '../../../src/images/store.ts';
import { imageConfig } from '../../../src/images/oci-config.ts';
import { imageRecipes } from '../../../src/images/catalog.ts';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pgtls-${p}-`));

describe('paths into a rootfs', () => {
  it('refuses a symlinked component (an absolute link would point at the host)', () => {
    const r = tmp('rootfs');
    mkdirSync(join(r, 'run'));
    mkdirSync(join(r, 'var'));
    symlinkSync('/run', join(r, 'var/run'));
    assert.throws(() => rootfsPath(r, '/var/run/postgresql', true), /var\/run is a symlink in the rootfs/);
    assert.equal(rootfsPath(r, '/run/postgresql', true), join(r, 'run/postgresql'));
    assert.ok(existsSync(join(r, 'run/postgresql')));
    assert.throws(() => rootfsPath(r, 'relative'), /must be absolute/);
    assert.throws(() => rootfsPath(r, '/a/../b'), /must not contain \.\./);
  });

  it('empties /dev without touching anything else', () => {
    const r = tmp('dev');
    mkdirSync(join(r, 'dev/pts'), { recursive: true });
    writeFileSync(join(r, 'dev/null-ish'), '');
    symlinkSync('/proc/self/fd', join(r, 'dev/fd'));
    writeFileSync(join(r, 'keep'), 'x');
    clearDev(r);
    assert.deepEqual(readdirSync(join(r, 'dev')), []);
    assert.ok(existsSync(join(r, 'keep')));
    assert.deepEqual(mountsUnder(r), []);
  });
});

describe('content digests and sizes', () => {
  it('change with content and permission bits, not with time', () => {
    const d = tmp('tree');
    mkdirSync(join(d, 'bin'));
    writeFileSync(join(d, 'bin/tool'), 'v1');
    symlinkSync('tool', join(d, 'bin/alias'));
    const a = treeDigest(d);
    assert.equal(treeDigest(d), a);
    chmodSync(join(d, 'bin/tool'), 0o755);
    const b = treeDigest(d);
    assert.notEqual(b, a);
    writeFileSync(join(d, 'bin/tool'), 'v2');
    assert.notEqual(treeDigest(d), b);
    assert.equal(treeSize(d), 2 + 'tool'.length);
  });

  it('globs match a file pattern or a whole directory', () => {
    const m = globMatcher(['lib/*.a', 'lib/pkgconfig']);
    assert.ok(m('lib/libpq.a'));
    assert.ok(m('lib/pkgconfig'));
    assert.ok(m('lib/pkgconfig/libpq.pc'));
    assert.ok(!m('lib/libpq.so.5'));
    assert.ok(!m('lib/sub/x.a'));
  });

  it('merge .deb files into the cache whole, keeping what is there', () => {
    const from = tmp('debs-out');
    const into = tmp('debs');
    writeFileSync(join(from, 'a_1_amd64.deb'), 'new');
    writeFileSync(join(from, 'b_1_amd64.deb'), 'b');
    writeFileSync(join(from, 'lock'), '');
    writeFileSync(join(into, 'a_1_amd64.deb'), 'old');
    assert.equal(mergeDebs(from, into), 1);
    assert.equal(readFileSync(join(into, 'a_1_amd64.deb'), 'utf8'), 'old');
    assert.deepEqual(readdirSync(into).sort(), ['a_1_amd64.deb', 'b_1_amd64.deb']);
  });
});

/** Writes what a finished build leaves (a tiny rootfs), so the cache logic runs without mmdebstrap. */
function fakeBuilt(root: string, ref: string): string {
  const layout = storeLayout(root);
  const r = resolveImageRef(ref, layout);
  const recipe = imageRecipes().find((x) => x.repository === ref.slice(0, ref.lastIndexOf(':')) && x.tags.includes(ref.slice(ref.lastIndexOf(':') + 1)))!;
  const dir = layout.image(r.digest);
  mkdirSync(join(dir, 'rootfs/bin'), { recursive: true });
  writeFileSync(join(dir, 'rootfs/bin/sh'), '#!/bin/true\n');
  const versions = Object.fromEntries(recipe.versions.map((v) => [v.name, `${v.expect}.0`]));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(imageConfig(recipe, { digest: r.digest, ref, versions, created: new Date() })));
  const meta: ImageMeta = { digest: r.digest, repository: recipe.repository, tags: recipe.tags, suite: recipe.suite, builtAt: new Date().toISOString(), buildSeconds: 1, sizeBytes: 12, versions, packages: {} };
  writeFileSync(join(dir, 'image.json'), JSON.stringify(meta));
  return r.digest;
}

describe('ensureImage and listImages over the store', () => {
  it('returns a built image without building, and says how to build a missing one', async () => {
    const root = tmp('store');
    const layout = storeLayout(root);
    await assert.rejects(ensureImage('localhost/pgtls/debian:bookworm', { layout, build: false }), (e: unknown) => e instanceof ImageNotBuiltError && /pgtls images build localhost\/pgtls\/debian:bookworm/.test(e.message));
    const digest = fakeBuilt(root, 'localhost/pgtls/debian:bookworm');
    const img = await ensureImage('localhost/pgtls/debian:12', { layout, build: false });
    assert.equal(img.digest, digest);
    assert.equal(img.ref, 'localhost/pgtls/debian:12');
    assert.equal(img.rootfs, join(root, digest, 'rootfs'));
    assert.equal(img.config.config.User, '0:0');
    const list = listImages(layout);
    assert.equal(list.length, imageRecipes().length);
    const deb = list.find((i) => i.repository === 'localhost/pgtls/debian')!;
    assert.equal(deb.built, true);
    assert.equal(deb.sizeBytes, 12);
    assert.equal(list.filter((i) => i.built).length, 1);
  });

  it('layers a directory onto a built image, tags it, and finds it again by that tag', async () => {
    const root = tmp('store');
    const layout = storeLayout(root);
    fakeBuilt(root, 'localhost/pgtls/debian:bookworm');
    const app = tmp('app');
    writeFileSync(join(app, 'main.js'), 'console.log(1)\n');
    const spec = { base: 'localhost/pgtls/debian:bookworm', ref: 'localhost/pgtls/operator:0.1.0', add: [{ from: app, to: '/opt/pgtls' }], config: { user: '65534:65534', cmd: ['node', '/opt/pgtls/main.js'] } };
    const img = await layerImage(spec, { layout, build: false });
    assert.equal(readFileSync(join(img.rootfs, 'opt/pgtls/main.js'), 'utf8'), 'console.log(1)\n');
    assert.ok(existsSync(join(img.rootfs, 'bin/sh')), 'base files are there');
    assert.equal(img.config.config.User, '65534:65534');
    assert.equal(img.meta.base?.ref, 'localhost/pgtls/debian:bookworm');
    assert.deepEqual(img.meta.addedPaths, ['/opt/pgtls']);
    const again = await ensureImage('localhost/pgtls/operator:0.1.0', { layout, build: false });
    assert.equal(again.digest, img.digest);
    assert.equal((await layerImage(spec, { layout, build: false })).digest, img.digest, 'same content, same digest');
    writeFileSync(join(app, 'main.js'), 'console.log(2)\n');
    const changed = await layerImage(spec, { layout, build: false });
    assert.notEqual(changed.digest, img.digest);
    assert.equal(resolveImageRef('localhost/pgtls/operator:0.1.0', layout).digest, changed.digest, 'the tag moves to the new build');
    assert.ok(listImages(layout).some((i) => i.ref === 'localhost/pgtls/operator:0.1.0' && i.built && i.base === 'localhost/pgtls/debian:bookworm'));
    const { untagImage } = await import('../../../src/images/derived.ts');
    assert.equal(await untagImage('localhost/pgtls/operator:0.1.0', layout), true);
    assert.throws(() => resolveImageRef('localhost/pgtls/operator:0.1.0', layout), /not an image pgtls builds/);
    assert.equal(await untagImage('localhost/pgtls/operator:0.1.0', layout), false);
    await assert.rejects(layerImage({ ...spec, ref: 'localhost/pgtls/postgres:15' }, { layout, build: false }), /is the name of an image pgtls builds/);
    await assert.rejects(layerImage({ ...spec, add: [{ from: app, to: '/bin' }] }, { layout, build: false }), /already exists/);
  });
});

describe('pruneImages', () => {
  it('removes only images that no recipe or tag names', async () => {
    const { pruneImages } = await import('../../../src/images/prune.ts');
    const root = tmp('prune');
    const layout = storeLayout(root);
    const live = fakeBuilt(root, 'localhost/pgtls/debian:bookworm');
    const orphan = 'f'.repeat(64);
    mkdirSync(join(root, orphan, 'rootfs'), { recursive: true });
    writeFileSync(join(root, orphan, 'rootfs', 'x'), '12345');
    mkdirSync(join(root, 'apt', 'bookworm'), { recursive: true });
    const r = await pruneImages({ layout });
    assert.deepEqual(r.removed, [orphan]);
    assert.equal(r.freedBytes, 5);
    assert.ok(existsSync(join(root, live)));
    assert.ok(existsSync(join(root, 'apt', 'bookworm')), 'the .deb cache stays unless asked');
    assert.deepEqual((await pruneImages({ layout, aptCache: true })).removed, ['apt']);
  });
});
