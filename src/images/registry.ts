// Which image a reference names, and getting it built: recipes first, then the
// tags of layered images.
import { buildImage, type BuildOptions } from './build.ts';
import { imageRecipes } from './catalog.ts';
import { layerImage as layerImageWith, readTags, type DerivedTag, type LayerSpec } from './derived.ts';
import { recipeDigest } from './digest.ts';
import type { ImageRecipe } from './recipe.ts';
import { matchRef, parseRef, repositoryOf, type RefCandidate } from './refs.ts';
import { readBuilt, storeLayout, type BuiltImage, type StoreLayout } from './store.ts';

export type ImageSource = { kind: 'recipe'; recipe: ImageRecipe } | { kind: 'layer'; tag: DerivedTag };

export interface ResolvedImage {
  /** repository:tag as pgtls names it (e.g. localhost/pgtls/postgres:15). */
  ref: string;
  digest: string;
  source: ImageSource;
}

export class ImageNotBuiltError extends Error {}

function candidates(layout: StoreLayout): RefCandidate<ImageSource>[] {
  const out: RefCandidate<ImageSource>[] = imageRecipes().map((recipe) => ({ repository: recipe.repository, tags: recipe.tags, value: { kind: 'recipe', recipe } }));
  for (const [ref, tag] of Object.entries(readTags(layout))) {
    const p = parseRef(ref);
    out.push({ repository: repositoryOf(p), tags: [p.tag], value: { kind: 'layer', tag } });
  }
  return out;
}

/** The image a reference names: exact repository and tag, never another version. */
export function resolveImageRef(ref: string, layout: StoreLayout = storeLayout()): ResolvedImage {
  const m = matchRef(ref, candidates(layout));
  const digest = m.value.kind === 'recipe' ? recipeDigest(m.value.recipe) : m.value.tag.digest;
  return { ref: m.ref, digest, source: m.value };
}

export interface EnsureOptions extends BuildOptions {
  /** false: fail with ImageNotBuiltError instead of building (default true). */
  build?: boolean;
}

/** The built image of a reference, building it first when it is missing (recipes only). */
export async function ensureImage(ref: string, opts: EnsureOptions = {}): Promise<BuiltImage> {
  const layout = opts.layout ?? storeLayout();
  const r = resolveImageRef(ref, layout);
  const done = readBuilt(layout, r.digest);
  if (done) return { ref: r.ref, digest: r.digest, rootfs: layout.rootfs(r.digest), ...done };
  if (r.source.kind === 'layer') throw new ImageNotBuiltError(`image ${r.ref} (layered onto ${r.source.tag.base}) is tagged but its files are gone; build it again`);
  if (opts.build === false) throw new ImageNotBuiltError(`image ${r.ref} is not built yet: run \`pgtls images build ${r.ref}\``);
  return buildImage(r.source.recipe, r.ref, { ...opts, layout });
}

export interface ImageListing {
  /** Primary reference (repository:first tag). */
  ref: string;
  repository: string;
  tags: string[];
  description: string;
  digest: string;
  built: boolean;
  suite?: string;
  base?: string;
  sizeBytes?: number;
  versions?: Record<string, string>;
  builtAt?: string;
  buildSeconds?: number;
}

/** Every image pgtls knows: the recipes, then layered images; built or not. */
export function listImages(layout: StoreLayout = storeLayout()): ImageListing[] {
  const out: ImageListing[] = [];
  for (const r of imageRecipes()) {
    const digest = recipeDigest(r);
    const b = readBuilt(layout, digest);
    out.push({
      ref: `${r.repository}:${r.tags[0]}`,
      repository: r.repository,
      tags: r.tags,
      description: r.description,
      digest,
      built: b !== undefined,
      suite: r.suite,
      ...(b ? { sizeBytes: b.meta.sizeBytes, versions: b.meta.versions, builtAt: b.meta.builtAt, buildSeconds: b.meta.buildSeconds } : {}),
    });
  }
  for (const [ref, tag] of Object.entries(readTags(layout))) {
    const b = readBuilt(layout, tag.digest);
    const p = parseRef(ref);
    out.push({
      ref,
      repository: repositoryOf(p),
      tags: [p.tag],
      description: b?.config.config.Labels['org.opencontainers.image.description'] ?? `layered onto ${tag.base}`,
      digest: tag.digest,
      built: b !== undefined,
      base: tag.base,
      ...(b ? { sizeBytes: b.meta.sizeBytes, versions: b.meta.versions, builtAt: b.meta.builtAt, buildSeconds: b.meta.buildSeconds } : {}),
    });
  }
  return out;
}

/** Layers host directories onto one of our images and tags the result (see derived.ts). */
export function layerImage(spec: LayerSpec, opts: EnsureOptions = {}): Promise<BuiltImage> {
  const layout = opts.layout ?? storeLayout();
  return layerImageWith(spec, {
    layout,
    ...(opts.log ? { log: opts.log } : {}),
    ensureBase: (ref) => ensureImage(ref, opts),
    isRecipeRef: (ref) => {
      try {
        return resolveImageRef(ref, layout).source.kind === 'recipe';
      } catch {
        return false;
      }
    },
  });
}
