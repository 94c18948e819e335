// `pgtls images`: the images pgtls builds from Debian's packages — list them,
// build them, write them as OCI archives/layouts for kind or containerd.
import type { Command } from 'commander';
import { buildPrerequisites, CATALOG_IMAGES, ensureImage, exportImage, imageRecipes, imagesRoot, listImages, pruneImages, resolveImageRef, untagImage, type ImageListing } from '../images/index.ts';

const log = (l: string): void => {
  process.stderr.write(`${l}\n`);
};

function mib(n: number | undefined): string {
  return n === undefined ? '-' : `${(n / 2 ** 20).toFixed(0)} MiB`;
}

/** What a listing row says about the versions: measured when built, promised when not. */
function versionsText(i: ImageListing): string {
  if (i.versions) return Object.entries(i.versions).map(([k, v]) => `${k} ${v}`).join(', ');
  const r = imageRecipes().find((x) => `${x.repository}:${x.tags[0]}` === i.ref);
  return r ? r.versions.map((v) => `${v.name} ${v.expect}`).join(', ') : '-';
}

/** The table printed by `pgtls images` (pure). */
export function imagesTable(list: ImageListing[]): string {
  const rows = [['IMAGE', 'ALSO', 'VERSIONS INSIDE', 'DIGEST', 'SIZE', 'BUILT']];
  for (const i of list) {
    rows.push([
      i.ref,
      i.tags.slice(1).map((t) => `:${t}`).join(' ') || '-',
      versionsText(i),
      i.digest.slice(0, 12),
      mib(i.sizeBytes),
      i.built ? `yes ${i.builtAt?.slice(0, 10) ?? ''}` : 'no',
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

function listCommand(opts: { json?: boolean }): void {
  const list = listImages();
  if (opts.json) {
    process.stdout.write(JSON.stringify(list, null, 2) + '\n');
    return;
  }
  process.stdout.write(imagesTable(list));
  process.stdout.write(`\nstore: ${imagesRoot()}   (versions of images not built yet are what the recipe requires)\n`);
}

async function buildCommand(refs: string[], opts: { all?: boolean; catalog?: boolean; rebuild?: boolean; mirror?: string }): Promise<void> {
  const targets = opts.all ? imageRecipes().map((r) => `${r.repository}:${r.tags[0]}`) : opts.catalog ? CATALOG_IMAGES : refs;
  if (targets.length === 0) throw new Error('name the images to build, or --catalog, or --all (see `pgtls images`)');
  for (const ref of targets) resolveImageRef(ref); // fail before building anything
  const missing = buildPrerequisites();
  if (missing) throw new Error(missing);
  for (const ref of targets) {
    const t = Date.now();
    const img = await ensureImage(ref, { log, ...(opts.rebuild ? { rebuild: true } : {}), ...(opts.mirror ? { mirror: opts.mirror } : {}) });
    process.stdout.write(`${img.ref}  ${img.digest.slice(0, 12)}  ${mib(img.meta.sizeBytes)}  ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  }
}

async function exportCommand(ref: string, opts: { ociArchive?: string; ociLayout?: string }): Promise<void> {
  const r = await exportImage(ref, { ...opts, log });
  if (r.ociArchive) process.stdout.write(`${r.ociArchive}  (${r.ref}; load with: kind load image-archive ${r.ociArchive}  or  ctr -n k8s.io images import ${r.ociArchive})\n`);
  if (r.ociLayout) process.stdout.write(`${r.ociLayout}  (OCI layout, tag ${r.ref}; skopeo copy oci:${r.ociLayout}:${r.ref} …)\n`);
}

async function inspectCommand(ref: string): Promise<void> {
  const img = await ensureImage(ref, { build: false });
  process.stdout.write(JSON.stringify({ ref: img.ref, digest: img.digest, rootfs: img.rootfs, meta: img.meta, config: img.config }, null, 2) + '\n');
}

async function pruneCommand(opts: { aptCache?: boolean }): Promise<void> {
  const r = await pruneImages({ ...(opts.aptCache ? { aptCache: true } : {}) });
  process.stdout.write(`removed ${r.removed.length} item(s), ${mib(r.freedBytes)} freed${r.removed.length ? `: ${r.removed.map((d) => d.slice(0, 12)).join(', ')}` : ''}\n`);
}

export function registerImagesCommand(program: Command): void {
  const images = program
    .command('images')
    .description('the images pgtls builds from Debian packages (root filesystems + OCI config): list, build, export');
  images.command('list', { isDefault: true }).description('name, tags, server versions inside, digest, size, built or not').option('--json', 'print JSON').action(listCommand);
  images
    .command('build')
    .description('build images now (pods build them on demand otherwise); needs root and deb.debian.org')
    .argument('[refs...]', 'image references, e.g. localhost/pgtls/postgres:15')
    .option('--catalog', 'the images the default catalog and test pods use')
    .option('--all', 'every image pgtls knows')
    .option('--rebuild', 'build again even if built')
    .option('--mirror <url>', 'Debian mirror (default http://deb.debian.org/debian or $PGTLS_DEBIAN_MIRROR)')
    .action(buildCommand);
  images
    .command('export')
    .description('write an image as an OCI archive (for `kind load image-archive`, `ctr images import`) or an OCI layout')
    .argument('<ref>', 'image reference')
    .option('--oci-archive <file>', 'tar of an OCI image layout')
    .option('--oci-layout <dir>', 'OCI image layout directory (created or added to)')
    .action(exportCommand);
  images
    .command('prune')
    .description('remove built images that no recipe or tag names any more (left by recipe or builder changes)')
    .option('--apt-cache', "also remove the cache of Debian's .deb files (the next builds download again)")
    .action(pruneCommand);
  images
    .command('untag')
    .description('drop the tag of a layered image (e.g. the operator image); `prune` then removes its files')
    .argument('<ref>', 'image reference')
    .action(async (ref: string) => {
      if (!(await untagImage(ref))) throw new Error(`${ref} is not a tag of a layered image (recipe images cannot be untagged)`);
    });
  images.command('inspect').description('print a built image’s OCI config and build record').argument('<ref>', 'image reference').action(inspectCommand);
}
