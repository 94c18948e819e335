// Where built images live: ${XDG_CACHE_HOME:-~/.cache}/pgtls/images/<digest>/
// holds rootfs/, config.json (the OCI image config) and image.json (what was
// built, when, how big). A directory appears there only complete: builds go to
// a temporary sibling that is renamed into place.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { OciImageConfig } from './oci-config.ts';

export function imagesRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PGTLS_IMAGES_DIR) return env.PGTLS_IMAGES_DIR;
  const xdg = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(xdg, 'pgtls', 'images');
}

export interface StoreLayout {
  root: string;
  /** The built image of a digest. */
  image(digest: string): string;
  rootfs(digest: string): string;
  config(digest: string): string;
  meta(digest: string): string;
  /** A build in progress (renamed to image(digest) when done). */
  tmp(digest: string, pid: number): string;
  lock(digest: string): string;
  locks: string;
  /** Debian's .deb files kept between builds, one directory per suite. */
  apt(suite: string): string;
  /** Tags of images made by layering (derived images): ref → digest. */
  tags: string;
}

export function storeLayout(root = imagesRoot()): StoreLayout {
  return {
    root,
    image: (d) => join(root, d),
    rootfs: (d) => join(root, d, 'rootfs'),
    config: (d) => join(root, d, 'config.json'),
    meta: (d) => join(root, d, 'image.json'),
    tmp: (d, pid) => join(root, `.tmp-${d}-${pid}`),
    lock: (d) => join(root, 'locks', `${d}.lock`),
    locks: join(root, 'locks'),
    apt: (s) => join(root, 'apt', s),
    tags: join(root, 'tags.json'),
  };
}

/** What the builder records about a built image. */
export interface ImageMeta {
  digest: string;
  repository: string;
  tags: string[];
  suite?: string;
  /** Layered images: the image they start from. */
  base?: { ref: string; digest: string; builtAt: string };
  /** Layered images: the directories added onto the base (one OCI layer each). */
  addedPaths?: string[];
  builtAt: string;
  buildSeconds: number;
  /** Apparent size of the rootfs (sum of file sizes). */
  sizeBytes: number;
  versions: Record<string, string>;
  /** Installed version of each requested Debian package. */
  packages: Record<string, string>;
  mirror?: string;
}

export interface BuiltImage {
  /** The reference asked for, normalized (e.g. localhost/pgtls/postgres:15). */
  ref: string;
  digest: string;
  rootfs: string;
  config: OciImageConfig;
  meta: ImageMeta;
}

/** A complete image of this digest, or undefined when it was never built. */
export function readBuilt(layout: StoreLayout, digest: string): { config: OciImageConfig; meta: ImageMeta } | undefined {
  if (!existsSync(layout.rootfs(digest)) || !existsSync(layout.config(digest)) || !existsSync(layout.meta(digest))) return undefined;
  return {
    config: JSON.parse(readFileSync(layout.config(digest), 'utf8')) as OciImageConfig,
    meta: JSON.parse(readFileSync(layout.meta(digest), 'utf8')) as ImageMeta,
  };
}
