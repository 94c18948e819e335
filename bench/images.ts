// Image builds: cold build time per image (empty image store; Debian's .deb files
// already downloaded — "apt warm" — and/or not — "apt cold"), the cached
// ensureImage time, rootfs size, and the OCI archive's size and export time.
// Builds go to a private store beside the real one (the user's images are not
// touched); the warm apt cache is a hard-linked copy of the real one.
//   node --import tsx bench/images.ts [--apt warm|cold|both] [--no-export] [refs...]
// Default: the catalog images, apt warm, with export. Needs root and deb.debian.org.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { buildPrerequisites, CATALOG_IMAGES, ensureImage, exportImage, exportPrerequisites, imagesRoot, resolveImageRef } from '../src/images/index.ts';
import { storeLayout } from '../src/images/store.ts';
import { report } from './report.ts';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const aptMode = flag('--apt') ?? 'warm';
if (!['warm', 'cold', 'both'].includes(aptMode)) throw new Error(`--apt must be warm, cold or both (got ${aptMode})`);
const noExport = argv.includes('--no-export');
const refs = argv.filter((a) => !a.startsWith('--'));
const targets = refs.length ? refs : CATALOG_IMAGES;
for (const r of targets) resolveImageRef(r);

const missing = buildPrerequisites();
if (missing) {
  report('images', { skipped: missing }, `skipped: ${missing}`);
  process.exit(0);
}

const realRoot = imagesRoot();
const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

interface Row {
  ref: string;
  suite?: string;
  versions?: Record<string, string>;
  coldBuildSeconds: { aptWarm?: number; aptCold?: number };
  cachedEnsureMs?: number;
  rootfsMiB?: number;
  archiveMiB?: number;
  exportSeconds?: number;
  loadAvgAtStart: number;
}

/** One cold build into a fresh private store; returns seconds and leaves the store for more measurements. */
async function coldBuild(ref: string, apt: 'warm' | 'cold', dir: string): Promise<number> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const layout = storeLayout(dir);
  const suite = (resolveImageRef(ref, layout).source as { recipe: { suite: string } }).recipe.suite;
  if (apt === 'warm' && existsSync(join(realRoot, 'apt', suite))) {
    mkdirSync(join(dir, 'apt'), { recursive: true });
    const cp = spawnSync('cp', ['-al', join(realRoot, 'apt', suite), join(dir, 'apt', suite)]);
    if (cp.status !== 0) throw new Error(`cp -al of the apt cache failed: ${cp.stderr}`);
  }
  const t = process.hrtime.bigint();
  await ensureImage(ref, { layout, log: (l) => process.stderr.write(`  [${ref} apt ${apt}] ${l}\n`) });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const rows: Row[] = [];
const work = join(realRoot, `.bench-${process.pid}`);
try {
  for (const ref of targets) {
    const row: Row = { ref, coldBuildSeconds: {}, loadAvgAtStart: Math.round(loadavg()[0]! * 10) / 10 };
    const dir = join(work, 'store');
    const modes: ('warm' | 'cold')[] = aptMode === 'both' ? ['cold', 'warm'] : [aptMode as 'warm' | 'cold'];
    for (const m of modes) {
      const s = await coldBuild(ref, m, dir);
      row.coldBuildSeconds[m === 'warm' ? 'aptWarm' : 'aptCold'] = Math.round(s * 10) / 10;
    }
    const layout = storeLayout(dir);
    const t = process.hrtime.bigint();
    const img = await ensureImage(ref, { layout, build: false });
    row.cachedEnsureMs = Math.round(Number(process.hrtime.bigint() - t) / 1e4) / 100;
    row.suite = img.meta.suite;
    row.versions = img.meta.versions;
    row.rootfsMiB = mib(img.meta.sizeBytes);
    if (!noExport && !exportPrerequisites()) {
      const file = join(work, 'image.tar');
      const e = await exportImage(ref, { layout, ociArchive: file, build: false });
      row.exportSeconds = e.seconds;
      row.archiveMiB = mib(statSync(file).size);
      rmSync(file, { force: true });
    }
    rows.push(row);
    process.stderr.write(`  ${JSON.stringify(row)}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const total = (k: 'aptWarm' | 'aptCold') => Math.round(rows.reduce((s, r) => s + (r.coldBuildSeconds[k] ?? 0), 0));
const summary = rows
  .map((r) => `${r.ref.replace('localhost/pgtls/', '')} ${r.coldBuildSeconds.aptWarm ?? r.coldBuildSeconds.aptCold} s ${r.rootfsMiB} MiB${r.archiveMiB ? ` (${r.archiveMiB} MiB gz)` : ''}`)
  .join('; ');
report(
  'images',
  { aptMode, images: rows, totals: { coldBuildSecondsAptWarm: total('aptWarm'), coldBuildSecondsAptCold: total('aptCold') } },
  `cold builds (apt ${aptMode}): ${summary}; cached ensureImage ≤ ${Math.max(...rows.map((r) => r.cachedEnsureMs ?? 0))} ms`,
);
