// Paths inside a container's root filesystem, looked at from the host:
// symlinks are followed as the kernel follows them after chroot, so an
// absolute link in an image never leads to the host's files.
import { lstatSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface RootFs {
  lstat(hostPath: string): { isSymbolicLink(): boolean; isDirectory(): boolean; isFile(): boolean; mode: number } | undefined;
  readlink(hostPath: string): string;
}

export const realFs: RootFs = {
  lstat: (p) => {
    try {
      return lstatSync(p);
    } catch {
      return undefined; // does not exist
    }
  },
  readlink: (p) => readlinkSync(p),
};

/** The host path of `p` inside `root` with every symlink resolved within the root, or undefined if it does not exist. */
export function resolveInRoot(root: string, p: string, fs: RootFs = realFs): string | undefined {
  let pending = posix.normalize(`/${p}`).split('/').filter(Boolean);
  const done: string[] = [];
  for (let hops = 0; pending.length > 0; ) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    const st = fs.lstat(host);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = fs.readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter(Boolean), ...pending];
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}

/** Looks a command up on PATH inside the root, as exec would; returns the path inside the container. */
export function findExecutable(root: string, cmd: string, path: string, fs: RootFs = realFs): string | undefined {
  const candidates = cmd.includes('/') ? [cmd] : path.split(':').filter(Boolean).map((d) => posix.join(d, cmd));
  for (const c of candidates) {
    const host = resolveInRoot(root, c, fs);
    const st = host ? fs.lstat(host) : undefined;
    if (st && st.isFile() && (st.mode & 0o111) !== 0) return c;
  }
  return undefined;
}
