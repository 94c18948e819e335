// `pgtls build-operator-image`: the operator image as an OCI archive, built here
// without a container engine (src/install/operator-archive.ts).
import { buildOperatorArchive } from '../install/operator-archive.ts';

export async function buildOperatorImageCommand(opts: { ociArchive: string; build: boolean }): Promise<void> {
  const r = await buildOperatorArchive(opts.ociArchive, { noBuild: !opts.build, log: (l) => process.stderr.write(`pgtls: ${l}\n`) });
  process.stdout.write(`${r.archive}  (${r.ref}, ${r.seconds} s; load with: kind load image-archive ${r.archive}  or  ctr -n k8s.io images import ${r.archive})\n`);
}
