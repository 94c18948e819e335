// Builds one recipe into the store: under the digest's lock, into a temporary
// directory renamed into place at the end, so readers see a complete image or
// none. Steps: mmdebstrap (in a private mount namespace: its mounts die with it),
// the npm server copy, the root-side finishing script, checks run inside the
// rootfs (every listed binary's libraries resolve; every server reports the
// version the recipe promises, found through the image's PATH as its user),
// then config.json and image.json.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util/repo.ts';
import { recipeDigest } from './digest.ts';
import { clearDev, copyInto, globMatcher, mergeDebs, removeTree, rootfsPath, treeSize } from './fs.ts';
import { withLock } from './lock.ts';
import { finishScript, mmdebstrapArgs } from './mmdebstrap.ts';
import { imageConfig, parseProbeVersion } from './oci-config.ts';
import { DEFAULT_MIRROR, recipeProblems, type ImageRecipe, type NpmEmbed } from './recipe.ts';
import { runInRootfsOk, withHome } from './rootfs-run.ts';
import { readBuilt, storeLayout, type BuiltImage, type ImageMeta, type StoreLayout } from './store.ts';

export interface BuildOptions {
  /** Debian mirror (default http://deb.debian.org/debian, or $PGTLS_DEBIAN_MIRROR). */
  mirror?: string;
  /** Progress lines (mmdebstrap's "I:" lines, the checks). */
  log?: (line: string) => void;
  /** How long to wait for another process building the same image (default 30 min). */
  lockTimeoutMs?: number;
  /** Build even if a complete image of this digest exists (the old one is replaced). */
  rebuild?: boolean;
  layout?: StoreLayout;
}

export class BuildError extends Error {}

export function mirrorOf(opts: BuildOptions): string {
  return opts.mirror ?? (process.env.PGTLS_DEBIAN_MIRROR || DEFAULT_MIRROR);
}

/** Why this machine cannot build images, or undefined when it can. */
export function buildPrerequisites(): string | undefined {
  if (process.getuid?.() !== 0) return 'building images needs root (mmdebstrap --mode=root, chroot)';
  for (const tool of ['/usr/bin/mmdebstrap', '/usr/bin/unshare', '/usr/sbin/chroot', '/usr/bin/flock']) {
    if (!existsSync(tool)) return `${tool} is missing (apt-get install mmdebstrap util-linux coreutils; \`node scripts/setup.mjs\` installs it)`;
  }
  return undefined;
}

export async function buildImage(recipe: ImageRecipe, ref: string, opts: BuildOptions = {}): Promise<BuiltImage> {
  const problems = recipeProblems(recipe);
  if (problems.length) throw new BuildError(`invalid recipe: ${problems.join('; ')}`);
  const missing = buildPrerequisites();
  if (missing) throw new BuildError(`cannot build ${ref}: ${missing}`);
  const layout = opts.layout ?? storeLayout();
  const digest = recipeDigest(recipe);
  const log = opts.log ?? (() => {});
  mkdirSync(layout.root, { recursive: true, mode: 0o700 });
  return withLock(
    layout.lock(digest),
    { timeoutMs: opts.lockTimeoutMs ?? 30 * 60_000, onWait: () => log(`waiting for another process that is building ${ref} (${digest.slice(0, 12)})`) },
    async () => {
      const done = readBuilt(layout, digest);
      if (done && !opts.rebuild) return { ref, digest, rootfs: layout.rootfs(digest), ...done };
      // Under the lock, any temporary directory of this digest belongs to a build that died.
      for (const f of readdirSync(layout.root)) if (f.startsWith(`.tmp-${digest}-`)) removeTree(join(layout.root, f));
      const tmp = layout.tmp(digest, process.pid);
      try {
        const built = await buildInto(recipe, ref, digest, tmp, layout, opts, log);
        if (existsSync(layout.image(digest))) removeTree(layout.image(digest));
        renameSync(tmp, layout.image(digest));
        return { ref, digest, rootfs: layout.rootfs(digest), ...built };
      } catch (e) {
        removeTree(tmp);
        throw e;
      }
    },
  );
}

async function buildInto(
  recipe: ImageRecipe,
  ref: string,
  digest: string,
  tmp: string,
  layout: StoreLayout,
  opts: BuildOptions,
  log: (l: string) => void,
): Promise<Omit<BuiltImage, 'ref' | 'digest' | 'rootfs'>> {
  const started = Date.now();
  const rootfs = join(tmp, 'rootfs');
  const aptIn = layout.apt(recipe.suite);
  const aptOut = join(tmp, 'apt-out');
  mkdirSync(aptIn, { recursive: true });
  mkdirSync(aptOut, { recursive: true });
  const mirror = mirrorOf(opts);
  log(`building ${ref} (${digest.slice(0, 12)}): mmdebstrap ${recipe.suite} ${recipe.packages.join(' ')}`);
  for (const e of recipe.embed) checkEmbedSource(e);
  const args = mmdebstrapArgs(recipe, { target: rootfs, mirror, aptCacheIn: aptIn, aptCacheOut: aptOut });
  // Only mmdebstrap's own status lines reach the log (the hooks' text and apt's progress stay in the error tail).
  const status = (l: string) => /^[IWE]: /.test(l) && !l.startsWith('I: running --') && log(l);
  await run('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/usr/bin/mmdebstrap', ...args], status, 'mmdebstrap');
  const added = mergeDebs(aptOut, aptIn);
  removeTree(aptOut);
  log(`${ref}: ${added} new .deb file(s) kept in ${aptIn}`);

  for (const e of recipe.embed) embedNpm(rootfs, e, log);
  await run('/usr/sbin/chroot', [rootfs, '/bin/sh', '-c', finishScript(recipe)], log, 'finishing script', { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });
  clearDev(rootfs);

  for (const bin of recipe.lddCheck) {
    const r = await runInRootfsOk({ rootfs, user: '0:0', env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], argv: ['ldd', bin] });
    const missing = r.stdout.split('\n').filter((l) => l.includes('not found'));
    if (missing.length) throw new BuildError(`${ref}: ${bin} has unresolved libraries inside the image: ${missing.map((l) => l.trim()).join(', ')}`);
  }
  const versions = await probeVersions(recipe, rootfs, ref, log);
  const packages = await installedPackages(rootfs, recipe.packages);
  const created = new Date();
  const config = imageConfig(recipe, { digest, ref, versions, created });
  const meta: ImageMeta = {
    digest,
    repository: recipe.repository,
    tags: recipe.tags,
    suite: recipe.suite,
    builtAt: created.toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 100) / 10,
    sizeBytes: treeSize(rootfs),
    versions,
    packages,
    mirror,
  };
  writeFileSync(join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileSync(join(tmp, 'image.json'), JSON.stringify(meta, null, 2) + '\n');
  log(`${ref}: built in ${meta.buildSeconds} s, ${(meta.sizeBytes / 2 ** 20).toFixed(0)} MiB, ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return { config, meta };
}

function embedDir(e: NpmEmbed): string {
  return join(repoRoot(), 'node_modules', e.package);
}

function checkEmbedSource(e: NpmEmbed): void {
  const pj = join(embedDir(e), 'package.json');
  if (!existsSync(pj)) throw new BuildError(`npm package ${e.package} is not installed (run \`node scripts/setup.mjs\`)`);
  const version = (JSON.parse(readFileSync(pj, 'utf8')) as { version?: string }).version;
  if (version !== e.version) throw new BuildError(`npm package ${e.package} is ${version}, the recipe needs exactly ${e.version}`);
}

function embedNpm(rootfs: string, e: NpmEmbed, log: (l: string) => void): void {
  const skip = globMatcher(e.drop);
  for (const d of e.dirs) {
    const src = join(embedDir(e), e.from, d);
    rootfsPath(rootfs, `${e.to}/${d}`, true);
    copyInto(rootfs, src, `${e.to}/${d}`, (rel) => skip(rel === '' ? d : `${d}/${rel}`));
  }
  log(`copied ${e.package}@${e.version} ${e.dirs.join(', ')} into ${e.to}`);
}

/** Runs each probe as the image's user, with its PATH, HOME and working directory. */
async function probeVersions(recipe: ImageRecipe, rootfs: string, ref: string, log: (l: string) => void): Promise<Record<string, string>> {
  const uid = Number(recipe.config.user.split(':')[0]);
  const home = recipe.users.find((u) => u.uid === uid)?.home ?? (uid === 0 ? '/root' : '/nonexistent');
  const versions: Record<string, string> = {};
  for (const p of recipe.versions) {
    const r = await runInRootfsOk({ rootfs, user: recipe.config.user, env: withHome(recipe.config.env, home), cwd: recipe.config.workingDir, argv: p.command });
    const v = parseProbeVersion(r.stdout + r.stderr, p.pattern, p.expect);
    if ('error' in v) throw new BuildError(`${ref}: \`${p.command.join(' ')}\`: ${v.error}`);
    versions[p.name] = v.version;
  }
  log(`${ref}: versions inside: ${JSON.stringify(versions)}`);
  return versions;
}

async function installedPackages(rootfs: string, names: string[]): Promise<Record<string, string>> {
  if (names.length === 0) return {};
  let out = '';
  await run('/usr/sbin/chroot', [rootfs, 'dpkg-query', '-W', '-f', '${Package}\\t${Version}\\n', ...names], (l) => (out += l + '\n'), 'dpkg-query', {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  }, 'stdout');
  return Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('\t'))
      .map((l) => l.split('\t') as [string, string]),
  );
}

/** Spawns a command, sending its lines to `log`; rejects with the last lines when it fails. */
function run(cmd: string, args: string[], log: (l: string) => void, what: string, env?: NodeJS.ProcessEnv, stream: 'both' | 'stdout' = 'both'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    const tail: string[] = [];
    const onData = (forward: boolean) => {
      let buf = '';
      return (b: Buffer) => {
        buf += b.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) {
          tail.push(l);
          if (tail.length > 40) tail.shift();
          if (forward) log(l);
        }
      };
    };
    child.stdout.on('data', onData(true));
    child.stderr.on('data', onData(stream === 'both'));
    child.on('error', (e) => reject(new BuildError(`${what}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new BuildError(`${what} failed (${code ?? signal}):\n${tail.join('\n')}`));
    });
  });
}
