#!/usr/bin/env node
// One idempotent setup step for `npm start` and `npm test` on a fresh machine:
// npm packages, the Debian packages the servers come from, and the control-plane
// binaries built from their Go modules (cached per user, keyed by version).
// Uses only Node built-ins: it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
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
};
function debianPackages() {
  const missing = Object.entries(DEBIAN_PACKAGES).filter(([, bin]) => !existsSync(bin)).map(([p]) => p);
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

try {
  npmPackages();
  debianPackages();
  binaries();
} catch (err) {
  log(`failed: ${err.message}`);
  process.exit(1);
}
