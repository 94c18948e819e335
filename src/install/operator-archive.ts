// The operator image, built without a container engine through the image
// builder (src/images): the staged /app (compiled operator + runtime
// dependencies) layered onto the Node.js base (Debian trixie + nodejs) with
// the config of src/install/operator-image.ts, tagged in the image store as
// localhost/pgtls/operator:<version> (so the local node agent runs it like any
// other image), and written as an OCI archive with umoci and skopeo for
// `kind load image-archive`, `ctr images import` and the kubelet runtime.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPrerequisites, exportImage, exportPrerequisites, layerImage, tagBuiltImage, type LayerSpec } from '../images/index.ts';
import { repoRoot } from '../util/repo.ts';
import { operatorSourceDigest, readOperatorBuild, writeOperatorBuild } from './operator-sources.ts';
import { operatorImageRef, operatorImageSpec, type OperatorImageSpec } from './operator-image.ts';
import { stageOperatorApp } from './stage-app.ts';

/** The layering request for the image builder (pure, given the staged app). */
export function operatorLayerSpec(app: string, spec: OperatorImageSpec = operatorImageSpec()): LayerSpec {
  return {
    base: spec.base,
    ref: operatorImageRef(spec),
    add: [{ from: app, to: spec.workingDir }],
    config: { user: spec.user, env: spec.env, workingDir: spec.workingDir, entrypoint: spec.entrypoint, cmd: spec.cmd },
    description: 'pgtls operator: the compiled operator and its runtime dependencies on Debian trixie\'s Node.js',
  };
}

/** Why the image cannot be built here, or undefined. */
export function imagePrerequisites(): string | undefined {
  return buildPrerequisites() ?? exportPrerequisites();
}

/** Why the archive cannot be built here, or undefined (kept for callers of the archive). */
export const archivePrerequisites = imagePrerequisites;

export interface ImageBuildOptions {
  /** Reuse dist/ as it is instead of `npm run build`. */
  noBuild?: boolean;
  log?: (line: string) => void;
}

/** Builds (or finds, by content digest) the operator image in the image store; returns its ref and digest. */
export async function buildOperatorImage(opts: ImageBuildOptions = {}): Promise<{ ref: string; digest: string; seconds: number }> {
  const spec = operatorImageSpec();
  const log = opts.log ?? (() => {});
  const missing = imagePrerequisites();
  if (missing) throw new Error(`cannot build ${operatorImageRef(spec)}: ${missing}`);
  const t0 = Date.now();
  const seconds = () => Math.round((Date.now() - t0) / 100) / 10;
  // Sources unchanged since an image was built from them: that image, tagged again (dist/ is not
  // rebuilt then; with noBuild the sources do not describe dist/, so nothing is reused).
  const sources = opts.noBuild ? undefined : operatorSourceDigest(repoRoot(), spec);
  const cached = sources ? readOperatorBuild(sources) : undefined;
  if (cached && cached.ref === operatorImageRef(spec) && (await tagBuiltImage(cached.ref, cached.digest))) {
    log(`sources unchanged (${sources!.slice(0, 12)}): reusing ${cached.ref} (${cached.digest.slice(0, 12)})`);
    return { ref: cached.ref, digest: cached.digest, seconds: seconds() };
  }
  const work = mkdtempSync(join(tmpdir(), 'pgtls-operator-app-'));
  try {
    log('staging /app (npm run build; npm ci --omit=dev --omit=optional)');
    const app = await stageOperatorApp(join(work, 'app'), { build: !opts.noBuild });
    const img = await layerImage(operatorLayerSpec(app, spec), { log });
    if (sources) writeOperatorBuild(sources, { ref: img.ref, digest: img.digest });
    return { ref: img.ref, digest: img.digest, seconds: seconds() };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Builds the image and writes it to `archive` (an OCI archive named localhost/pgtls/operator:<version>). */
export async function buildOperatorArchive(archive: string, opts: ImageBuildOptions = {}): Promise<{ ref: string; archive: string; seconds: number }> {
  const t0 = Date.now();
  const img = await buildOperatorImage(opts);
  const out = await exportImage(img.ref, { ociArchive: archive, ...(opts.log ? { log: opts.log } : {}) });
  return { ref: img.ref, archive: out.ociArchive!, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}
