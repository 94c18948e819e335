// Images made by layering host directories onto one of our images (the
// operator image: the built operator on the Node.js base). Their tags are
// recorded in tags.json, the local equivalent of `docker build -t`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILDER_VERSION, canonicalJson, sha256Hex } from './digest.ts';
import { copyInto, removeTree, treeDigest, treeSize } from './fs.ts';
import { withLock } from './lock.ts';
import type { OciImageConfig } from './oci-config.ts';
import { parseRef, repositoryOf } from './refs.ts';
import { readBuilt, storeLayout, type BuiltImage, type ImageMeta, type StoreLayout } from './store.ts';

export interface ConfigOverrides {
  /** Numeric uid:gid. */
  user?: string;
  /** "KEY=value": replaces the base's entry of the same key, or is appended. */
  env?: string[];
  workingDir?: string;
  /** Setting an entrypoint without a cmd clears the base's cmd (as a Dockerfile ENTRYPOINT does). */
  entrypoint?: string[];
  cmd?: string[];
  labels?: Record<string, string>;
  exposedPorts?: string[];
}

export interface LayerSpec {
  /** The image to start from, e.g. localhost/pgtls/node:20-trixie (built if missing). */
  base: string;
  /** The new image's reference, e.g. localhost/pgtls/operator:0.1.0. */
  ref: string;
  /** Host directories copied (root-owned) into the rootfs; each becomes one layer in an OCI export. */
  add: { from: string; to: string }[];
  config?: ConfigOverrides;
  description?: string;
}

export interface DerivedTag {
  digest: string;
  base: string;
  at: string;
}

export function readTags(layout: StoreLayout): Record<string, DerivedTag> {
  if (!existsSync(layout.tags)) return {};
  return JSON.parse(readFileSync(layout.tags, 'utf8')) as Record<string, DerivedTag>;
}

/** Normalized ref as stored in tags.json (registry kept, tag explicit). */
export function tagKey(ref: string): string {
  const p = parseRef(ref);
  return `${repositoryOf(p)}:${p.tag}`;
}

/** The labels that describe the base image itself do not describe the new one; the versions inside still do. */
const BASE_ONLY_LABELS = ['org.opencontainers.image.title', 'org.opencontainers.image.description', 'org.opencontainers.image.version', 'io.pgtls.recipe.digest'];
function inheritedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !BASE_ONLY_LABELS.includes(k)));
}

/** Pure: the base config with the overrides applied. */
export function applyOverrides(base: OciImageConfig, o: ConfigOverrides, extraLabels: Record<string, string>, created: Date): OciImageConfig {
  const c = base.config;
  const env = [...c.Env];
  for (const e of o.env ?? []) {
    const eq = e.indexOf('=');
    const key = eq > 0 ? e.slice(0, eq) : '';
    if (!key) throw new Error(`config.env entry "${e}" must be KEY=value`);
    const i = env.findIndex((x) => x.startsWith(`${key}=`));
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
  if (o.user !== undefined && !/^\d+:\d+$/.test(o.user)) throw new Error(`config.user "${o.user}" must be numeric uid:gid`);
  const cmd = o.cmd ?? (o.entrypoint ? undefined : c.Cmd);
  const entrypoint = o.entrypoint ?? c.Entrypoint;
  const ports = o.exposedPorts ? Object.fromEntries(o.exposedPorts.map((p) => [p, {}])) : c.ExposedPorts;
  const config = {
    User: o.user ?? c.User,
    Env: env,
    WorkingDir: o.workingDir ?? c.WorkingDir,
    ...(entrypoint ? { Entrypoint: entrypoint } : {}),
    ...(cmd ? { Cmd: cmd } : {}),
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(ports ? { ExposedPorts: ports } : {}),
    Labels: { ...inheritedLabels(c.Labels), ...extraLabels, ...(o.labels ?? {}) },
  };
  return { ...base, created: created.toISOString(), config };
}

/** Digest of a layered image: its base, the added trees' content, its ref and config. */
export function layerDigest(spec: LayerSpec, baseDigest: string): string {
  return sha256Hex(
    canonicalJson({
      builder: BUILDER_VERSION,
      kind: 'layer',
      ref: tagKey(spec.ref),
      base: baseDigest,
      add: spec.add.map((a) => ({ to: a.to, tree: treeDigest(a.from) })),
      config: spec.config ?? {},
      description: spec.description ?? '',
    }),
  );
}

export interface LayerDeps {
  ensureBase: (ref: string) => Promise<BuiltImage>;
  isRecipeRef: (ref: string) => boolean;
  layout?: StoreLayout;
  log?: (line: string) => void;
}

export async function layerImage(spec: LayerSpec, deps: LayerDeps): Promise<BuiltImage> {
  const layout = deps.layout ?? storeLayout();
  const log = deps.log ?? (() => {});
  const ref = tagKey(spec.ref);
  if (deps.isRecipeRef(spec.ref)) throw new Error(`${spec.ref} is the name of an image pgtls builds from a recipe; choose another name`);
  for (const a of spec.add) {
    if (!existsSync(a.from)) throw new Error(`layer source ${a.from} does not exist`);
    if (!a.to.startsWith('/') || a.to === '/') throw new Error(`layer target ${a.to} must be an absolute directory other than /`);
  }
  const base = await deps.ensureBase(spec.base);
  const digest = layerDigest(spec, base.digest);
  mkdirSync(layout.root, { recursive: true, mode: 0o700 });
  const built = await withLock(layout.lock(digest), { timeoutMs: 30 * 60_000 }, async () => {
    const done = readBuilt(layout, digest);
    if (done) return done;
    for (const f of readdirSync(layout.root)) if (f.startsWith(`.tmp-${digest}-`)) removeTree(join(layout.root, f));
    const tmp = layout.tmp(digest, process.pid);
    try {
      const started = Date.now();
      mkdirSync(tmp);
      log(`layering ${spec.add.map((a) => `${a.from} → ${a.to}`).join(', ')} onto ${base.ref}`);
      await cpTree(base.rootfs, join(tmp, 'rootfs'));
      for (const a of spec.add) {
        if (existsSync(join(tmp, 'rootfs', a.to))) throw new Error(`layer target ${a.to} already exists in ${base.ref}`);
        copyInto(join(tmp, 'rootfs'), a.from, a.to);
      }
      const created = new Date();
      const config = applyOverrides(
        base.config,
        spec.config ?? {},
        {
          'org.opencontainers.image.ref.name': ref,
          'org.opencontainers.image.title': parseRef(ref).path.split('/').pop() ?? ref,
          'org.opencontainers.image.created': created.toISOString(),
          'org.opencontainers.image.base.name': base.ref,
          'io.pgtls.base.digest': base.digest,
          ...(spec.description ? { 'org.opencontainers.image.description': spec.description } : {}),
        },
        created,
      );
      const meta: ImageMeta = {
        digest,
        repository: repositoryOf(parseRef(ref)),
        tags: [parseRef(ref).tag],
        base: { ref: base.ref, digest: base.digest, builtAt: base.meta.builtAt },
        addedPaths: spec.add.map((a) => a.to),
        builtAt: created.toISOString(),
        buildSeconds: Math.round((Date.now() - started) / 100) / 10,
        sizeBytes: treeSize(join(tmp, 'rootfs')),
        versions: base.meta.versions,
        packages: base.meta.packages,
      };
      writeFileSync(join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
      writeFileSync(join(tmp, 'image.json'), JSON.stringify(meta, null, 2) + '\n');
      renameSync(tmp, layout.image(digest));
      return { config, meta };
    } catch (e) {
      removeTree(tmp);
      throw e;
    }
  });
  await recordTag(layout, ref, { digest, base: base.ref, at: new Date().toISOString() });
  return { ref, digest, rootfs: layout.rootfs(digest), ...built };
}

/** Points `ref` at an image already in the store (a cached build); false if that image is gone. */
export async function tagBuiltImage(ref: string, digest: string, layout: StoreLayout = storeLayout()): Promise<boolean> {
  const built = readBuilt(layout, digest);
  if (!built?.meta.base) return false;
  await recordTag(layout, tagKey(ref), { digest, base: built.meta.base.ref, at: new Date().toISOString() });
  return true;
}

/** Removes a layered image's tag (its files go at the next prune); false if there was none. */
export async function untagImage(ref: string, layout: StoreLayout = storeLayout()): Promise<boolean> {
  const key = tagKey(ref);
  let found = false;
  await updateTags(layout, (tags) => {
    found = key in tags;
    delete tags[key];
  });
  return found;
}

function recordTag(layout: StoreLayout, ref: string, tag: DerivedTag): Promise<void> {
  return updateTags(layout, (tags) => {
    tags[ref] = tag;
  });
}

async function updateTags(layout: StoreLayout, change: (tags: Record<string, DerivedTag>) => void): Promise<void> {
  await withLock(join(layout.locks, 'tags.lock'), { timeoutMs: 60_000 }, async () => {
    const tags = readTags(layout);
    change(tags);
    const tmp = `${layout.tags}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(tags, null, 2) + '\n');
    renameSync(tmp, layout.tags);
  });
}

function cpTree(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('cp', ['-a', '--reflink=auto', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`cp -a ${from} ${to}: ${err.trim()}`))));
  });
}
