// The images API: what the node agent, the CLI and the operator-image build call.
//   resolveImageRef(ref)  → which image a reference names (exact tag), or UnknownImageError
//   ensureImage(ref)      → { ref, digest, rootfs, config, meta }, building it if missing
//   listImages()          → every image pgtls knows, built or not
//   layerImage(spec)      → a new image: host directories layered onto one of ours
//   exportImage(ref, …)   → an OCI archive / layout for kind, containerd, skopeo
//   untagImage(ref)       → drops a layered image's tag
//   pruneImages()         → removes images no recipe or tag names any more
//   runInRootfs(…)        → a command inside a rootfs as a runtime would run it (checks, tests)
export { resolveImageRef, ensureImage, listImages, layerImage, ImageNotBuiltError } from './registry.ts';
export type { ResolvedImage, ImageSource, EnsureOptions, ImageListing } from './registry.ts';
export { UnknownImageError, InvalidRefError, parseRef } from './refs.ts';
export { CATALOG_IMAGES, REGISTRY_PREFIX, imageRecipes } from './catalog.ts';
export { BuildError, buildPrerequisites, type BuildOptions } from './build.ts';
export { exportImage, exportPrerequisites, type ExportOptions, type ExportResult } from './export.ts';
export { imagesRoot, type BuiltImage, type ImageMeta } from './store.ts';
export { configUser, versionsOf, type OciImageConfig } from './oci-config.ts';
export { runInRootfs, runInRootfsOk, type RootfsRunOptions, type RunResult } from './rootfs-run.ts';
export type { LayerSpec, ConfigOverrides } from './derived.ts';
export { pruneImages, type PruneResult } from './prune.ts';
export { tagBuiltImage, untagImage } from './derived.ts';
