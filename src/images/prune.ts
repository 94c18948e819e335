// Removes built images that no recipe or tag names any more (a recipe or the
// builder changed, so their digest is orphaned), and optionally the .deb cache.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { imageRecipes } from './catalog.ts';
import { readTags } from './derived.ts';
import { recipeDigest } from './digest.ts';
import { removeTree, treeSize } from './fs.ts';
import { withLock } from './lock.ts';
import { readBuilt, storeLayout, type StoreLayout } from './store.ts';

export interface PruneResult {
  removed: string[];
  freedBytes: number;
}

/** Digests still in use: every recipe's, every tag's, and the bases of tagged images (pure over the store). */
export function liveDigests(layout: StoreLayout): Set<string> {
  const live = new Set(imageRecipes().map(recipeDigest));
  for (const t of Object.values(readTags(layout))) {
    live.add(t.digest);
    const base = readBuilt(layout, t.digest)?.meta.base?.digest;
    if (base) live.add(base);
  }
  return live;
}

export async function pruneImages(opts: { layout?: StoreLayout; aptCache?: boolean } = {}): Promise<PruneResult> {
  const layout = opts.layout ?? storeLayout();
  const out: PruneResult = { removed: [], freedBytes: 0 };
  if (!existsSync(layout.root)) return out;
  const live = liveDigests(layout);
  for (const name of readdirSync(layout.root)) {
    if (!/^[0-9a-f]{64}$/.test(name) || live.has(name)) continue;
    await withLock(layout.lock(name), { timeoutMs: 5_000 }, async () => {
      const dir = layout.image(name);
      if (!existsSync(dir)) return;
      out.freedBytes += treeSize(dir);
      removeTree(dir);
      out.removed.push(name);
    });
  }
  if (opts.aptCache && existsSync(join(layout.root, 'apt'))) {
    out.freedBytes += treeSize(join(layout.root, 'apt'));
    removeTree(join(layout.root, 'apt'));
    out.removed.push('apt');
  }
  return out;
}
