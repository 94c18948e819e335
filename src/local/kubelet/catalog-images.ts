// The catalog's images (localhost/pgtls/postgres:15, …) in containerd, so the
// real kubelet runs the operator's pods without a registry, as `kind load
// image-archive` would load them. Each image is written once as an OCI archive
// (cached beside the image store, by digest and name) and imported under the
// name the catalog uses; an image containerd already has is left alone.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG_IMAGES, ensureImage, exportImage, imagesRoot } from '../../images/index.ts';
import { importNamedArchive, type Ctr } from './images.ts';

/** Where the archive of `ref` (built as `digest`) is kept; no ':' (skopeo reads it as a separator). */
export function catalogArchivePath(ref: string, digest: string, root = imagesRoot()): string {
  return join(root, 'oci-archives', `${digest.slice(0, 16)}-${ref.replace(/[^A-Za-z0-9._-]/g, '_')}.tar`);
}

export async function importCatalogImages(ctr: Ctr, log: (m: string) => void, refs: readonly string[] = CATALOG_IMAGES): Promise<string[]> {
  const present = new Set(ctr(['images', 'ls', '-q']).split('\n'));
  const imported: string[] = [];
  for (const ref of refs) {
    if (present.has(ref)) continue;
    const img = await ensureImage(ref, { log });
    const archive = catalogArchivePath(ref, img.digest);
    if (!existsSync(archive)) await exportImage(ref, { ociArchive: archive, log });
    log(`imported ${ref}: ${importNamedArchive(ctr, archive)}`);
    imported.push(ref);
  }
  return imported;
}
