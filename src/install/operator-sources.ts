// What the operator image is made from, as one digest: the sources `npm run
// build` compiles, the manifests `npm ci` installs from, and the image's
// config. The same digest means the same image, so an image built before is
// reused (each test cluster with the chart would otherwise spend ~40 s
// rebuilding it). Records live beside the image store.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { imagesRoot } from '../images/index.ts';
import type { OperatorImageSpec } from './operator-image.ts';

/** Files and trees (relative to the repository) the operator image depends on. */
export const OPERATOR_SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'scripts/operator-bundle.mjs', 'src'];

/** The files under `rel` (or `rel` itself), relative to `root`. */
function files(root: string, rel: string): string[] {
  const abs = join(root, rel);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [rel];
  return readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => relative(root, join(d.parentPath, d.name)));
}

export function operatorSourceDigest(root: string, spec: OperatorImageSpec): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(spec));
  for (const f of OPERATOR_SOURCES.flatMap((s) => files(root, s)).sort()) {
    h.update(`\0${f}\0`);
    h.update(readFileSync(join(root, f)));
  }
  return h.digest('hex');
}

export interface OperatorBuildRecord {
  ref: string;
  digest: string;
}

const recordPath = (sources: string, root = imagesRoot()) => join(root, 'operator-builds', `${sources}.json`);

export function readOperatorBuild(sources: string, root?: string): OperatorBuildRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(recordPath(sources, root), 'utf8')) as Partial<OperatorBuildRecord>;
    return typeof r.ref === 'string' && typeof r.digest === 'string' && /^[0-9a-f]{64}$/.test(r.digest) ? { ref: r.ref, digest: r.digest } : undefined;
  } catch {
    return undefined;
  }
}

export function writeOperatorBuild(sources: string, rec: OperatorBuildRecord, root?: string): void {
  const file = recordPath(sources, root);
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(rec) + '\n');
  renameSync(tmp, file);
}
