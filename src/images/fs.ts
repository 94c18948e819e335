// File-system steps on a root filesystem seen from the host. A rootfs holds
// absolute symlinks (/var/run → /run) that on the host point at the HOST's
// files, so every path into it is checked component by component first.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * The host path of `inside` (absolute, in the rootfs), after checking that no
 * existing component is a symlink or leaves the rootfs; missing directories are
 * created (root-owned, 0755) when `create`.
 */
export function rootfsPath(rootfs: string, inside: string, create = false): string {
  if (!inside.startsWith('/')) throw new Error(`path in rootfs must be absolute: ${inside}`);
  const parts = inside.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`path in rootfs must not contain ..: ${inside}`);
  let cur = rootfs;
  for (const p of parts) {
    cur = join(cur, p);
    if (!existsSync(cur) && !isBrokenLink(cur)) {
      if (!create) continue;
      mkdirSync(cur, { mode: 0o755 });
      continue;
    }
    if (lstatSync(cur).isSymbolicLink()) throw new Error(`${inside}: ${relative(rootfs, cur)} is a symlink in the rootfs; refusing to follow it from the host`);
  }
  return cur;
}

function isBrokenLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Apparent size of a tree (regular files and symlinks), without following links. */
export function treeSize(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() || e.isSymbolicLink()) total += lstatSync(p).size;
    }
  };
  walk(dir);
  return total;
}

/**
 * Empties the rootfs's /dev: a runtime mounts its own (as runc does), and device
 * nodes in an image layer are noise at best. Refuses if /dev is a mount point.
 */
export function clearDev(rootfs: string): void {
  const dev = join(rootfs, 'dev');
  const st = lstatSync(dev);
  if (!st.isDirectory()) throw new Error(`${dev} is not a directory`);
  if (st.dev !== statSync(rootfs).dev) throw new Error(`${dev} is a mount point; refusing to empty it`);
  for (const e of readdirSync(dev)) {
    const p = join(dev, e);
    const s = lstatSync(p);
    if (s.isDirectory() && s.dev !== st.dev) throw new Error(`${p} is a mount point; refusing to remove it`);
    rmSync(p, { recursive: true, force: true });
  }
}

/** Moves .deb files of one build into the shared cache; each lands whole (rename) or not at all. */
export function mergeDebs(from: string, into: string): number {
  mkdirSync(into, { recursive: true });
  let added = 0;
  if (!existsSync(from)) return 0;
  for (const f of readdirSync(from)) {
    if (!f.endsWith('.deb')) continue;
    if (existsSync(join(into, f))) continue;
    renameSync(join(from, f), join(into, f));
    added++;
  }
  return added;
}

/** Mount points at or under `dir` in this process's mount namespace. */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  return text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined)
    .map((m) => m.replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(prefix));
}

/** Removes a build directory, refusing if anything is still mounted inside it. */
export function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  const m = mountsUnder(dir);
  if (m.length > 0) throw new Error(`refusing to remove ${dir}: still mounted: ${m.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Copies a directory tree into the rootfs at `inside` (merging into existing
 * directories, never replacing a file), symlinks kept as they are.
 */
export function copyInto(rootfs: string, from: string, inside: string, skip: (rel: string) => boolean = () => false): void {
  const dest = rootfsPath(rootfs, inside, true);
  cpSync(from, dest, {
    recursive: true,
    verbatimSymlinks: true,
    errorOnExist: true,
    force: false,
    preserveTimestamps: true,
    filter: (src) => !skip(relative(from, src)),
  });
}

/** A small glob: "lib/*.a" (one * in the last component) or an exact relative path. */
export function globMatcher(patterns: string[]): (rel: string) => boolean {
  const res = patterns.map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(/.*)?$`));
  return (rel) => res.some((r) => r.test(rel));
}

/**
 * Digest of a directory tree's content: paths, types, permission bits, file
 * contents and link targets, in sorted order. Timestamps and owners do not count.
 */
export function treeDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      const mode = (lstatSync(p).mode & 0o7777).toString(8);
      if (e.isSymbolicLink()) h.update(`L ${rel} ${readlinkSync(p)}\n`);
      else if (e.isDirectory()) {
        h.update(`D ${rel} ${mode}\n`);
        walk(p);
      } else if (e.isFile()) {
        h.update(`F ${rel} ${mode} `);
        h.update(readFileSync(p));
        h.update('\n');
      } else throw new Error(`${p}: only files, directories and symlinks can be layered`);
    }
  };
  walk(dir);
  return h.digest('hex');
}
