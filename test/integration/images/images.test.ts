// The images the catalog needs, built from Debian (or taken from the cache) and checked from the
// inside, as their own user: ids, PATH and WorkingDir from the config, the servers' versions,
// PostgreSQL 18.3 streaming a base backup over TLS, and the OCI export read back by skopeo (and
// imported by a private containerd when one is installed).
// Needs root and deb.debian.org (skips with the reason otherwise).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildPrerequisites,
  CATALOG_IMAGES,
  ensureImage,
  exportImage,
  exportPrerequisites,
  layerImage,
  listImages,
  pruneImages,
  untagImage,
  resolveImageRef,
  runInRootfs,
  type BuiltImage,
  type RootfsRunOptions,
} from '../../../src/images/index.ts';
import { readBuilt, storeLayout } from '../../../src/images/store.ts';
import { debianReachable, startPrivateContainerd } from './harness.ts';

/** What each catalog image must contain, written independently of the recipes. */
const EXPECT: Record<string, { user: [string, number, number]; commands: [string[], RegExp][]; owned?: [string, number, string][] }> = {
  'localhost/pgtls/postgres:15': {
    user: ['postgres', 999, 999],
    commands: [
      [['postgres', '--version'], /^postgres \(PostgreSQL\) 15\.\d+/],
      [['initdb', '--version'], /\(PostgreSQL\) 15\.\d+/],
      [['psql', '--version'], /\(PostgreSQL\) 15\.\d+/],
      [['pg_isready', '--version'], /\(PostgreSQL\) 15\.\d+/],
      [['pg_basebackup', '--version'], /\(PostgreSQL\) 15\.\d+/],
    ],
    owned: [['/var/lib/postgresql', 999, '755'], ['/var/lib/postgresql/data', 999, '1777'], ['/run/postgresql', 999, '3777']],
  },
  'localhost/pgtls/postgres:18.3': {
    user: ['postgres', 999, 999],
    commands: [
      [['postgres', '--version'], /^postgres \(PostgreSQL\) 18\.3$/m],
      [['initdb', '--version'], /\(PostgreSQL\) 18\.3$/m],
      [['pg_ctl', '--version'], /\(PostgreSQL\) 18\.3$/m],
      [['psql', '--version'], /\(PostgreSQL\) 18\.\d+/],
      [['pg_isready', '--version'], /\(PostgreSQL\) 18\.\d+/],
      [['pg_basebackup', '--version'], /\(PostgreSQL\) 18\.\d+/],
    ],
    owned: [['/var/lib/postgresql/data', 999, '1777'], ['/run/postgresql', 999, '3777']],
  },
  'localhost/pgtls/pgbouncer:1.18.0': {
    user: ['postgres', 70, 70],
    commands: [
      [['pgbouncer', '--version'], /^PgBouncer 1\.18\.0$/m],
      [['psql', '--version'], /\(PostgreSQL\) 15\.\d+/],
    ],
    owned: [['/etc/pgbouncer/pgbouncer.ini', 70, '640'], ['/run/postgresql', 70, '3777']],
  },
  'localhost/pgtls/pgpool:4.3.5': {
    user: ['postgres', 70, 70],
    commands: [
      [['pgpool', '--version'], /pgpool-II version 4\.3\.5/],
      [['pcp_node_info', '--version'], /4\.3\.5/],
      [['psql', '--version'], /\(PostgreSQL\) 15\.\d+/],
    ],
    owned: [['/run/postgresql', 70, '3777']],
  },
  'localhost/pgtls/debian:bookworm': {
    user: ['root', 0, 0],
    commands: [
      [['bash', '--version'], /GNU bash/],
      [['ps', '--version'], /procps-ng/],
      [['cat', '/etc/debian_version'], /^12\.\d+/],
    ],
  },
};

/** Images beyond the catalog: checked when already built (`pgtls images build --all`), not built here. */
const EXTRA: Record<string, { user: string; commands: [string[], RegExp][] }> = {
  'localhost/pgtls/postgres:17': { user: '999:999', commands: [[['postgres', '--version'], /\(PostgreSQL\) 17\.\d+/], [['pg_basebackup', '--version'], /\(PostgreSQL\) 17\.\d+/]] },
  'localhost/pgtls/pgbouncer:1.24.1': { user: '70:70', commands: [[['pgbouncer', '--version'], /^PgBouncer 1\.24\.1$/m], [['psql', '--version'], /\(PostgreSQL\) 17\.\d+/]] },
  'localhost/pgtls/pgpool:4.6.1': { user: '70:70', commands: [[['pgpool', '--version'], /pgpool-II version 4\.6\.1/], [['psql', '--version'], /\(PostgreSQL\) 17\.\d+/]] },
  'localhost/pgtls/node:20': { user: '65534:65534', commands: [[['node', '-e', 'console.log(process.versions.node)'], /^(2\d)\.\d+\.\d+$/m]] },
};

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pgtls-it-${p}-`));
const env = (img: BuiltImage, home: string) => [...img.config.config.Env, `HOME=${home}`];

function asImageUser(img: BuiltImage, argv: string[], extra: Partial<RootfsRunOptions> = {}) {
  return runInRootfs({ rootfs: img.rootfs, user: img.config.config.User, env: env(img, '/'), cwd: img.config.config.WorkingDir, argv, timeoutMs: 60_000, ...extra });
}

const unbuilt = CATALOG_IMAGES.filter((r) => !readBuilt(storeLayout(), resolveImageRef(r).digest));
const why = buildPrerequisites() ?? (unbuilt.length > 0 ? await debianReachable() : undefined);
if (why) process.stderr.write(`images integration: skipped: ${why}\n`);

describe('catalog images, checked from the inside', { skip: why ?? false }, () => {
  const images = new Map<string, BuiltImage>();

  before(async () => {
    for (const ref of CATALOG_IMAGES) {
      const t = Date.now();
      images.set(ref, await ensureImage(ref, { log: (l) => process.stderr.write(`  [${ref}] ${l}\n`) }));
      process.stderr.write(`  ${ref}: ready in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }
  });

  it('covers every image the catalog needs', () => {
    assert.deepEqual(Object.keys(EXPECT).sort(), [...CATALOG_IMAGES].sort());
    for (const ref of CATALOG_IMAGES) assert.ok(listImages().find((i) => i.digest === images.get(ref)!.digest)?.built, ref);
  });

  for (const [ref, want] of Object.entries(EXPECT)) {
    it(`${ref}: its user, ids, PATH and WorkingDir`, async () => {
      const img = images.get(ref)!;
      const [name, uid, gid] = want.user;
      assert.equal(img.config.config.User, `${uid}:${gid}`);
      const passwd = readFileSync(join(img.rootfs, 'etc/passwd'), 'utf8');
      assert.match(passwd, new RegExp(`^${name}:x:${uid}:${gid}:`, 'm'));
      const r = await asImageUser(img, ['sh', '-c', 'id -u; id -g; id -un; pwd; printf "%s\\n" "$PATH"; test -r . && echo readable']);
      assert.equal(r.code, 0, r.stderr);
      const [u, g, un, pwd, path, readable] = r.stdout.trim().split('\n');
      assert.deepEqual([Number(u), Number(g), un], [uid, gid, name]);
      assert.equal(pwd, img.config.config.WorkingDir);
      assert.equal(`PATH=${path}`, img.config.config.Env[0]);
      assert.equal(readable, 'readable');
      for (const [p, owner, mode] of want.owned ?? []) {
        const st = statSync(join(img.rootfs, p));
        assert.equal(st.uid, owner, `${p} owner`);
        assert.equal((st.mode & 0o7777).toString(8), mode, `${p} mode`);
      }
    });

    it(`${ref}: its programs run as the image user and report the expected versions`, async () => {
      const img = images.get(ref)!;
      for (const [argv, pattern] of want.commands) {
        const r = await asImageUser(img, argv);
        assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
        assert.match(r.stdout + r.stderr, pattern, argv.join(' '));
      }
      for (const [k, v] of Object.entries(img.config.config.Labels)) {
        if (k.startsWith('io.pgtls.version.')) assert.ok(img.meta.versions[k.slice('io.pgtls.version.'.length)] === v, `${k} label matches the build record`);
      }
    });
  }

  it('18.3: pg_basebackup links a libpq with OpenSSL, and clones a TLS-only 18.3 server over TLS', async () => {
    const img = images.get('localhost/pgtls/postgres:18.3')!;
    const root = { rootfs: img.rootfs, user: '0:0', env: env(img, '/root') };
    const bb = await runInRootfs({ ...root, argv: ['sh', '-c', 'ldd "$(command -v pg_basebackup)"'] });
    const libpq = /libpq\.so\.5 => (\S+)/.exec(bb.stdout)?.[1];
    assert.ok(libpq, bb.stdout);
    const pq = await runInRootfs({ ...root, argv: ['ldd', libpq] });
    assert.match(pq.stdout, /libssl\.so\.3 => \/usr\/lib\/x86_64-linux-gnu\/libssl\.so\.3/);

    // A server certificate made on the host, handed in through the scratch layer.
    const scratch = tmp('tls');
    try {
      const certs = join(scratch, 'upper', 'certs');
      mkdirSync(certs, { recursive: true });
      const o = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(certs, 'server.key'), '-out', join(certs, 'server.crt')], { encoding: 'utf8' });
      assert.equal(o.status, 0, o.stderr);
      chownSync(join(certs, 'server.key'), 999, 999);
      const script = `set -eu
cd /tmp
initdb -D /tmp/pg -U postgres -A trust >/dev/null
cp /certs/server.crt /certs/server.key /tmp/pg/ && chmod 600 /tmp/pg/server.key
cat >> /tmp/pg/postgresql.conf <<EOF
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
EOF
printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl replication all 127.0.0.1/32 trust\n' > /tmp/pg/pg_hba.conf
pg_ctl -D /tmp/pg -w -l /tmp/pg.log start >/dev/null
trap 'pg_ctl -D /tmp/pg -w -m fast stop >/dev/null' EXIT
if psql "host=127.0.0.1 sslmode=disable user=postgres dbname=postgres" -c 'select 1' >/dev/null 2>&1; then echo "PLAINTEXT-ACCEPTED"; fi
psql "host=127.0.0.1 sslmode=require user=postgres dbname=postgres" -Atc "select current_setting('server_version'), ssl, version from pg_stat_ssl where pid = pg_backend_pid()"
pg_basebackup -d "host=127.0.0.1 sslmode=require user=postgres" -D /tmp/clone -X stream -c fast
echo "clone PG_VERSION $(cat /tmp/clone/PG_VERSION)"
`;
      const r = await runInRootfs({ rootfs: img.rootfs, user: img.config.config.User, env: env(img, '/var/lib/postgresql'), cwd: '/tmp', argv: ['sh', '-c', script], network: 'loopback', scratch, timeoutMs: 180_000 });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.doesNotMatch(r.stdout, /PLAINTEXT-ACCEPTED/);
      assert.match(r.stdout, /^18\.3\|t\|TLSv1\.[23]$/m);
      assert.match(r.stdout, /^clone PG_VERSION 18$/m);
      assert.ok(!existsSync(join(img.rootfs, 'tmp', 'pg')), 'the image itself is unchanged');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  for (const [ref, want] of Object.entries(EXTRA)) {
    const built = readBuilt(storeLayout(), resolveImageRef(ref).digest);
    it(`${ref} (beyond the catalog): user and versions inside`, { skip: built ? false : `not built here (pgtls images build ${ref})` }, async () => {
      const img = await ensureImage(ref, { build: false });
      assert.equal(img.config.config.User, want.user);
      for (const [argv, pattern] of want.commands) {
        const r = await asImageUser(img, argv);
        assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
        assert.match(r.stdout + r.stderr, pattern, argv.join(' '));
      }
    });
  }

  it('export: an OCI archive whose config skopeo reads back as the image config, loadable by containerd', { skip: exportPrerequisites() ?? false }, async (t) => {
    const ref = 'localhost/pgtls/pgbouncer:1.18.0';
    const img = images.get(ref)!;
    const out = tmp('oci');
    try {
      const file = join(out, 'pgbouncer.tar');
      const r = await exportImage(ref, { ociArchive: file, ociLayout: join(out, 'layout'), build: false });
      assert.equal(r.ociArchive, file);
      const inspect = (args: string[]) => {
        const s = spawnSync('skopeo', ['inspect', ...args], { encoding: 'utf8' });
        assert.equal(s.status, 0, s.stderr);
        return JSON.parse(s.stdout) as Record<string, unknown>;
      };
      for (const source of [`oci-archive:${file}`, `oci:${join(out, 'layout')}:${ref}`]) {
        const cfg = inspect(['--config', source]) as { config: Record<string, unknown>; os: string; architecture: string; rootfs: { diff_ids: string[] } };
        assert.equal(cfg.config.User, '70:70');
        assert.deepEqual(cfg.config.Env, img.config.config.Env);
        assert.equal(cfg.config.WorkingDir, '/var/lib/postgresql');
        assert.deepEqual(cfg.config.Cmd, ['pgbouncer', '/etc/pgbouncer/pgbouncer.ini']);
        assert.equal(cfg.config.Entrypoint ?? null, null);
        assert.deepEqual(cfg.config.ExposedPorts, { '6432/tcp': {} });
        assert.equal((cfg.config.Labels as Record<string, string>)['io.pgtls.version.pgbouncer'], '1.18.0');
        assert.deepEqual([cfg.os, cfg.architecture], ['linux', 'amd64']);
        assert.equal(cfg.rootfs.diff_ids.length, 1);
      }
      const index = JSON.parse(spawnSync('tar', ['-xOf', file, 'index.json'], { encoding: 'utf8' }).stdout) as { manifests: { annotations: Record<string, string> }[] };
      assert.equal(index.manifests[0]?.annotations['org.opencontainers.image.ref.name'], ref);

      const ctd = await startPrivateContainerd(join(out, 'containerd'));
      if (typeof ctd === 'string') {
        t.diagnostic(`containerd import not checked: ${ctd}`);
        return;
      }
      try {
        const imp = ctd.ctr(['-n', 'k8s.io', 'images', 'import', file]);
        assert.equal(imp.status, 0, imp.stderr);
        assert.match(ctd.ctr(['-n', 'k8s.io', 'images', 'ls', '-q']).stdout, /^localhost\/pgtls\/pgbouncer:1\.18\.0$/m);
      } finally {
        await ctd.stop();
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('layerImage: a directory on top of a base, run inside and exported as two layers', { skip: exportPrerequisites() ?? false }, async () => {
    const app = tmp('app');
    const out = tmp('oci');
    try {
      writeFileSync(join(app, 'hello.sh'), '#!/bin/sh\necho "hello from $(id -u) in $(pwd)"\n', { mode: 0o755 });
      const ref = 'localhost/pgtls/it-layer:1';
      const img = await layerImage({ base: 'localhost/pgtls/debian:bookworm', ref, add: [{ from: app, to: '/opt/hello' }], config: { user: '65534:65534', workingDir: '/opt/hello', cmd: ['/opt/hello/hello.sh'] } }, { build: false });
      const r = await asImageUser(img, img.config.config.Cmd!);
      assert.equal(r.stdout.trim(), 'hello from 65534 in /opt/hello');
      const st = statSync(join(img.rootfs, 'opt/hello/hello.sh'));
      assert.deepEqual([st.uid, st.gid], [0, 0], 'layered files are root-owned');
      const file = join(out, 'layer.tar');
      await exportImage(ref, { ociArchive: file, build: false });
      const s = spawnSync('skopeo', ['inspect', '--config', `oci-archive:${file}`], { encoding: 'utf8' });
      const cfg = JSON.parse(s.stdout) as { config: { User: string; Cmd: string[]; WorkingDir: string }; rootfs: { diff_ids: string[] } };
      assert.equal(cfg.config.User, '65534:65534');
      assert.deepEqual(cfg.config.Cmd, ['/opt/hello/hello.sh']);
      assert.equal(cfg.config.WorkingDir, '/opt/hello');
      assert.equal(cfg.rootfs.diff_ids.length, 2, 'the base layer and the added directory');
    } finally {
      await untagImage('localhost/pgtls/it-layer:1');
      await pruneImages();
      rmSync(app, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  });
});
