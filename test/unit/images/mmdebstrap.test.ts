// The mmdebstrap command line and the hook scripts: the user hook is run for real by sh on a
// base-passwd-like tree, since it is what makes Debian's postinst keep our ids.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finishScript, mmdebstrapArgs, preinstallHook, shq, usersHook } from '../../../src/images/mmdebstrap.ts';
import { imageRecipes } from '../../../src/images/catalog.ts';
import type { ImageUser } from '../../../src/images/recipe.ts';

const PG: ImageUser = { name: 'postgres', uid: 999, gid: 999, home: '/var/lib/postgresql', shell: '/bin/bash', gecos: 'PostgreSQL administrator' };

function fakeRoot(): string {
  const r = mkdtempSync(join(tmpdir(), 'pgtls-hook-'));
  mkdirSync(join(r, 'etc'));
  writeFileSync(join(r, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeFileSync(join(r, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(join(r, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n');
  writeFileSync(join(r, 'etc/gshadow'), 'root:*::\n');
  return r;
}

const runHook = (script: string, root: string) => spawnSync('sh', ['-c', script, 'hook', root], { encoding: 'utf8' });

const notRoot = process.getuid?.() !== 0 && 'the hook chowns the home directory: needs root';

describe('essential hook: users before packages', { skip: notRoot }, () => {
  it('appends passwd, group, shadow and gshadow entries and creates the home', () => {
    const r = fakeRoot();
    const res = runHook(usersHook([PG]), r);
    assert.equal(res.status, 0, res.stderr);
    assert.match(readFileSync(join(r, 'etc/passwd'), 'utf8'), /\npostgres:x:999:999:PostgreSQL administrator,,,:\/var\/lib\/postgresql:\/bin\/bash\n$/);
    assert.match(readFileSync(join(r, 'etc/group'), 'utf8'), /\npostgres:x:999:\n$/);
    assert.match(readFileSync(join(r, 'etc/shadow'), 'utf8'), /\npostgres:\*:/);
    assert.match(readFileSync(join(r, 'etc/gshadow'), 'utf8'), /\npostgres:!::\n$/);
    const home = statSync(join(r, 'var/lib/postgresql'));
    assert.ok(home.isDirectory());
    assert.deepEqual([home.uid, home.gid], [999, 999]);
  });

  it('refuses a name or id the base system already uses', () => {
    const r = fakeRoot();
    const clash = runHook(usersHook([{ ...PG, name: 'nobody2', uid: 65534, gid: 999 }]), r);
    assert.notEqual(clash.status, 0);
    assert.match(clash.stderr, /uid 65534 already exists/);
    const again = fakeRoot();
    assert.equal(runHook(usersHook([PG]), again).status, 0);
    assert.match(runHook(usersHook([PG]), again).stderr, /user postgres or uid 999 already exists/);
  });

  it('writes pre-install files verbatim, quotes included', () => {
    const r = fakeRoot();
    const res = runHook(preinstallHook([{ path: '/etc/postgresql-common/createcluster.d/pgtls.conf', content: "create_main_cluster = false\n# it's\n" }]), r);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(readFileSync(join(r, 'etc/postgresql-common/createcluster.d/pgtls.conf'), 'utf8'), "create_main_cluster = false\n# it's\n");
    assert.equal(spawnSync('sh', ['-c', `printf %s ${shq("a'b $x")}`], { encoding: 'utf8' }).stdout, "a'b $x");
  });
});

describe('mmdebstrap arguments', () => {
  const pg15 = imageRecipes()[0]!;
  const args = mmdebstrapArgs(pg15, { target: '/t/rootfs', mirror: 'http://deb.debian.org/debian', aptCacheIn: '/c/apt/bookworm', aptCacheOut: '/t/apt-out' });

  it('builds minbase of the suite with the packages, users in the essential hook', () => {
    assert.ok(args.includes('--variant=minbase'));
    assert.ok(args.includes('--mode=root'));
    assert.deepEqual(args.slice(-3), ['bookworm', '/t/rootfs', 'http://deb.debian.org/debian']);
    assert.ok(args.includes('--include=postgresql-15,postgresql-client-15'));
    const hooks = args.filter((a) => a.startsWith('--essential-hook='));
    assert.equal(hooks.length, 2);
    assert.match(hooks[0]!, /postgres:x:999:999/);
    assert.match(hooks[1]!, /create_main_cluster = false/);
  });

  it('keeps downloads in the suite cache and trims docs', () => {
    assert.ok(args.includes("--setup-hook=sync-in '/c/apt/bookworm' /var/cache/apt/archives/"));
    assert.ok(args.includes("--customize-hook=sync-out /var/cache/apt/archives '/t/apt-out'"));
    assert.ok(args.includes('--skip=download/empty'));
    assert.ok(args.includes('--dpkgopt=path-exclude=/usr/share/doc/*'));
    assert.ok(args.includes('--dpkgopt=path-include=/usr/share/doc/*/copyright'));
  });

  it('finishes with the recipe directories (owner, mode) and removes the snakeoil key and host files', () => {
    const s = finishScript(pg15);
    assert.match(s, /install -d -o 'postgres' -g 'postgres' -m 1777 '\/var\/lib\/postgresql\/data'/);
    assert.match(s, /install -d -o 'postgres' -g 'postgres' -m 3777 '\/run\/postgresql'/);
    assert.match(s, /rm -f \/etc\/ssl\/private\/ssl-cert-snakeoil.key/);
    assert.match(s, /: > \/etc\/resolv.conf/);
    assert.equal(spawnSync('sh', ['-n', '-c', s]).status, 0, 'valid sh');
  });
});
