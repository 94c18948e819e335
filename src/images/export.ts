// OCI export with Debian's umoci and skopeo: umoci makes an OCI layout from the
// rootfs (one layer per recipe image; a layered image gets its base's layer plus
// one per added directory) and writes the config (User, Env, WorkingDir,
// Entrypoint, Cmd, labels); skopeo writes the layout or archive under the
// image's full name, which `ctr images import` and `kind load image-archive`
// take as the image name.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ensureImage, type EnsureOptions } from './registry.ts';
import { removeTree } from './fs.ts';
import type { OciImageConfig } from './oci-config.ts';
import { readBuilt, storeLayout, type BuiltImage } from './store.ts';

export interface ExportOptions extends EnsureOptions {
  /** Write a tar of an OCI image layout here. */
  ociArchive?: string;
  /** Write (or add to) an OCI image layout directory here. */
  ociLayout?: string;
}

export interface ExportResult {
  ref: string;
  digest: string;
  ociArchive?: string;
  ociLayout?: string;
  seconds: number;
}

export function exportPrerequisites(): string | undefined {
  for (const t of ['/usr/bin/umoci', '/usr/bin/skopeo']) if (!existsSync(t)) return `${t} is missing (apt-get install umoci skopeo; \`node scripts/setup.mjs\` installs them)`;
  return undefined;
}

/** umoci config flags for an image config (pure). */
export function umociConfigArgs(cfg: OciImageConfig): string[] {
  const c = cfg.config;
  const a = ['--clear=config.env', '--clear=config.entrypoint', '--clear=config.cmd', '--clear=config.labels', '--clear=config.exposedports'];
  a.push(`--config.user=${c.User}`, `--config.workingdir=${c.WorkingDir}`);
  for (const e of c.Env) a.push(`--config.env=${e}`);
  for (const e of c.Entrypoint ?? []) a.push(`--config.entrypoint=${e}`);
  for (const e of c.Cmd ?? []) a.push(`--config.cmd=${e}`);
  if (c.StopSignal) a.push(`--config.stopsignal=${c.StopSignal}`);
  for (const p of Object.keys(c.ExposedPorts ?? {})) a.push(`--config.exposedports=${p}`);
  for (const [k, v] of Object.entries(c.Labels)) a.push(`--config.label=${k}=${v}`);
  a.push(`--created=${cfg.created}`, `--architecture=${cfg.architecture}`, `--os=${cfg.os}`);
  return a;
}

export async function exportImage(ref: string, opts: ExportOptions): Promise<ExportResult> {
  if (!opts.ociArchive && !opts.ociLayout) throw new Error('export needs --oci-archive FILE and/or --oci-layout DIR');
  for (const p of [opts.ociArchive, opts.ociLayout]) if (p?.includes(':')) throw new Error(`output path ${p} must not contain ":" (skopeo reads it as a separator)`);
  const missing = exportPrerequisites();
  if (missing) throw new Error(`cannot export ${ref}: ${missing}`);
  const started = Date.now();
  const img = await ensureImage(ref, opts);
  const layout = opts.layout ?? storeLayout();
  const work = mkdtempSync(join(layout.root, '.export-'));
  const log = opts.log ?? (() => {});
  try {
    const oci = join(work, 'oci');
    const image = `${oci}:build`;
    await run('umoci', ['init', '--layout', oci]);
    await run('umoci', ['new', '--image', image]);
    for (const [src, target] of layers(img, layout)) {
      log(`umoci insert ${target} (${src})`);
      await run('umoci', ['insert', '--image', image, src, target]);
    }
    await run('umoci', ['config', '--image', image, ...umociConfigArgs(img.config)]);
    await run('umoci', ['gc', '--layout', oci]);
    const out: ExportResult = { ref: img.ref, digest: img.digest, seconds: 0 };
    if (opts.ociLayout) {
      const dir = resolve(opts.ociLayout);
      await run('skopeo', ['copy', '--quiet', `oci:${oci}:build`, `oci:${dir}:${img.ref}`]);
      out.ociLayout = dir;
    }
    if (opts.ociArchive) {
      const file = resolve(opts.ociArchive);
      mkdirSync(dirname(file), { recursive: true });
      const part = `${file}.part-${process.pid}`;
      await run('skopeo', ['copy', '--quiet', `oci:${oci}:build`, `oci-archive:${part}:${img.ref}`]);
      renameSync(part, file);
      out.ociArchive = file;
      log(`${file}: ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB`);
    }
    out.seconds = Math.round((Date.now() - started) / 100) / 10;
    return out;
  } finally {
    removeTree(work);
  }
}

/** [host directory, path in image] per layer, bottom first. */
function layers(img: BuiltImage, layout: ReturnType<typeof storeLayout>): [string, string][] {
  // The base's own files make the bottom layer only while they are the ones this
  // image was made from (a rebuilt base would not match); else one layer of it all.
  const base = img.meta.base ? readBuilt(layout, img.meta.base.digest) : undefined;
  if (!img.meta.base || base?.meta.builtAt !== img.meta.base.builtAt) return [[img.rootfs, '/']];
  const added = img.meta.addedPaths ?? [];
  return [[layout.rootfs(img.meta.base.digest), '/'], ...added.map((p): [string, string] => [join(img.rootfs, p), p])];
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${cmd} ${args[0]} failed (${code}): ${out.trim().slice(-2000)}`))));
  });
}
