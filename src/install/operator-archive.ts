// The operator image as an OCI archive, built without a container engine:
// the Node.js base's root filesystem (Debian trixie + nodejs, built by the
// image builder into its store) as one layer, the staged /app as another,
// the config of src/install/operator-image.ts, written with umoci and named
// with skopeo so `kind load image-archive` and `ctr images import` take it
// under localhost/pgtls/operator:<version>.
//
// Until the image builder's layering API (src/images: layerImage,
// exportImage) is on main this reads the base from its store directly; the
// result is the same image.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { operatorImageRef, operatorImageSpec, type OperatorImageSpec } from './operator-image.ts';
import { stageOperatorApp } from './stage-app.ts';

interface OciConfig {
  config: { User?: string; Env?: string[]; WorkingDir?: string; Entrypoint?: string[]; Cmd?: string[]; Labels?: Record<string, string> };
}

export interface BaseImage {
  ref: string;
  rootfs: string;
  config: OciConfig;
}

/** The image builder's store (PGTLS_IMAGES_DIR, else ${XDG_CACHE_HOME:-~/.cache}/pgtls/images). */
export function imageStore(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PGTLS_IMAGES_DIR) return env.PGTLS_IMAGES_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pgtls', 'images');
}

/** The built base image `repository:tag` in the store, or undefined. */
export function findBuiltImage(ref: string, store = imageStore()): BaseImage | undefined {
  const i = ref.lastIndexOf(':');
  const [repository, tag] = [ref.slice(0, i), ref.slice(i + 1)];
  if (!existsSync(store)) return undefined;
  for (const d of readdirSync(store)) {
    const meta = join(store, d, 'image.json');
    if (!/^[0-9a-f]{64}$/.test(d) || !existsSync(meta) || !existsSync(join(store, d, 'rootfs'))) continue;
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { repository?: string; tags?: string[] };
    if (m.repository === repository && m.tags?.includes(tag)) {
      return { ref, rootfs: join(store, d, 'rootfs'), config: JSON.parse(readFileSync(join(store, d, 'config.json'), 'utf8')) as OciConfig };
    }
  }
  return undefined;
}

/** Env of the base with the spec's entries replacing same-named ones (as a Dockerfile ENV does). */
export function mergeEnv(base: string[], add: string[]): string[] {
  const out = [...base];
  for (const e of add) {
    const key = e.slice(0, e.indexOf('='));
    const i = out.findIndex((x) => x.startsWith(`${key}=`));
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

/** umoci config flags for the operator image on `base` (pure). */
export function operatorConfigArgs(spec: OperatorImageSpec, base: OciConfig, created: Date): string[] {
  const a = ['--clear=config.env', '--clear=config.entrypoint', '--clear=config.cmd', '--clear=config.labels'];
  a.push(`--config.user=${spec.user}`, `--config.workingdir=${spec.workingDir}`);
  for (const e of mergeEnv(base.config.Env ?? [], spec.env)) a.push(`--config.env=${e}`);
  for (const e of spec.entrypoint) a.push(`--config.entrypoint=${e}`);
  for (const c of spec.cmd) a.push(`--config.cmd=${c}`);
  const labels: Record<string, string> = {
    'org.opencontainers.image.title': 'pgtls-operator',
    'org.opencontainers.image.version': spec.tag,
    'org.opencontainers.image.ref.name': operatorImageRef(spec),
    'org.opencontainers.image.base.name': spec.base,
    'org.opencontainers.image.created': created.toISOString(),
  };
  for (const [k, v] of Object.entries(labels)) a.push(`--config.label=${k}=${v}`);
  a.push(`--created=${created.toISOString()}`, '--os=linux', '--architecture=amd64');
  return a;
}

function run(cmd: string, args: string[], timeoutMs = 900_000): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${cmd} ${args.slice(0, 3).join(' ')} … failed: ${String(stderr || err.message).trim().slice(-1500)}`));
      else res(stdout);
    });
  });
}

/** Why the archive cannot be built here, or undefined. */
export function archivePrerequisites(spec = operatorImageSpec()): string | undefined {
  for (const t of ['/usr/bin/umoci', '/usr/bin/skopeo']) if (!existsSync(t)) return `${t} is missing (apt-get install umoci skopeo)`;
  if (process.getuid?.() !== 0) return 'building the image needs root (umoci keeps the files\' owners)';
  if (!findBuiltImage(spec.base)) return `the base image ${spec.base} is not built (pgtls images build ${spec.base})`;
  return undefined;
}

export interface ArchiveOptions {
  /** Reuse dist/ as it is instead of `npm run build`. */
  noBuild?: boolean;
  log?: (line: string) => void;
}

/** Writes the operator image to `archive` (an OCI archive named localhost/pgtls/operator:<version>). */
export async function buildOperatorArchive(archive: string, opts: ArchiveOptions = {}): Promise<{ ref: string; archive: string; seconds: number }> {
  const spec = operatorImageSpec();
  const log = opts.log ?? (() => {});
  const missing = archivePrerequisites(spec);
  if (missing) throw new Error(`cannot build ${operatorImageRef(spec)}: ${missing}`);
  if (archive.includes(':')) throw new Error(`${archive}: the path must not contain ":" (skopeo reads it as a separator)`);
  const base = findBuiltImage(spec.base)!;
  const t0 = Date.now();
  const out = resolve(archive);
  mkdirSync(dirname(out), { recursive: true });
  const work = mkdtempSync(join(dirname(out), '.pgtls-operator-image-'));
  try {
    log('staging /app (npm run build; npm ci --omit=dev --omit=optional)');
    const app = await stageOperatorApp(join(work, 'app'), { build: !opts.noBuild });
    const oci = join(work, 'oci');
    const image = `${oci}:build`;
    await run('umoci', ['init', '--layout', oci]);
    await run('umoci', ['new', '--image', image]);
    log(`layer 1: ${spec.base} (${base.rootfs})`);
    await run('umoci', ['insert', '--image', image, base.rootfs, '/']);
    log(`layer 2: ${spec.workingDir}`);
    await run('umoci', ['insert', '--image', image, app, spec.workingDir]);
    await run('umoci', ['config', '--image', image, ...operatorConfigArgs(spec, base.config, new Date())]);
    await run('umoci', ['gc', '--layout', oci]);
    const part = `${out}.part-${process.pid}`;
    await run('skopeo', ['copy', '--quiet', `oci:${oci}:build`, `oci-archive:${part}:${operatorImageRef(spec)}`]);
    renameSync(part, out);
    return { ref: operatorImageRef(spec), archive: out, seconds: Math.round((Date.now() - t0) / 100) / 10 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
