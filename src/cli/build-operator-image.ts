// `pgtls build-operator-image`: the operator image built here without a
// container engine (src/install/operator-archive.ts): tagged in the image
// store (the local node agent runs it from there), and with --oci-archive
// written as an OCI archive for kind, containerd or skopeo.
import { buildOperatorArchive, buildOperatorImage } from '../install/operator-archive.ts';

export async function buildOperatorImageCommand(opts: { ociArchive?: string; build: boolean }): Promise<void> {
  const log = (l: string) => process.stderr.write(`pgtls: ${l}\n`);
  if (!opts.ociArchive) {
    const r = await buildOperatorImage({ noBuild: !opts.build, log });
    process.stdout.write(`${r.ref}  (${r.digest.slice(0, 12)}, ${r.seconds} s; in the image store: pgtls images inspect ${r.ref})\n`);
    return;
  }
  const r = await buildOperatorArchive(opts.ociArchive, { noBuild: !opts.build, log });
  process.stdout.write(`${r.archive}  (${r.ref}, ${r.seconds} s; load with: kind load image-archive ${r.archive}  or  ctr -n k8s.io images import ${r.archive})\n`);
}
