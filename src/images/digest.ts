// The digest that names a built image: sha256 over the canonical JSON of the
// recipe's content (tags and description excluded: they name, not make) and the
// builder version. Same recipe → same digest → same cache directory.
import { createHash } from 'node:crypto';
import type { ImageRecipe } from './recipe.ts';

/**
 * Bumped whenever the build steps change what lands in a rootfs (trimming,
 * hooks, config shape), so old cache entries are not mistaken for new ones.
 */
export const BUILDER_VERSION = 2;

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What of a recipe determines the image's bytes. */
export function recipeContent(r: ImageRecipe): Omit<ImageRecipe, 'tags' | 'description'> {
  const content: Partial<ImageRecipe> = { ...r };
  delete content.tags;
  delete content.description;
  return content as Omit<ImageRecipe, 'tags' | 'description'>;
}

export function recipeDigest(r: ImageRecipe): string {
  return sha256Hex(canonicalJson({ builder: BUILDER_VERSION, recipe: recipeContent(r) }));
}

export function shortDigest(d: string): string {
  return d.slice(0, 12);
}
