// Installing config and TLS files so that a server never reads a half-written file:
// write a temp file in the same directory (same filesystem), fsync, set owner and mode,
// then rename over the target. All renames happen back-to-back after all temps are written,
// so a cert and its key change together. Returns what was there before, for a restore.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface FileSpec {
  path: string;
  content: string | Buffer;
  /** Default 0644; use 0600 for keys and password files. */
  mode?: number;
  /** Owner; unset = keep the process's (root tests pass the server user). */
  uid?: number;
  gid?: number;
}

export interface Snapshot {
  path: string;
  /** null = the file did not exist. */
  content: Buffer | null;
  mode: number;
  uid: number;
  gid: number;
}

export interface InstallResult {
  /** Paths whose content changed (created, or different bytes). Mode/owner changes alone do not count. */
  changed: string[];
  /** The previous state of every path, for restoreFiles. */
  previous: Snapshot[];
}

async function snapshot(path: string): Promise<Snapshot> {
  try {
    const [content, st] = await Promise.all([fs.readFile(path), fs.stat(path)]);
    return { path, content, mode: st.mode & 0o777, uid: st.uid, gid: st.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { path, content: null, mode: 0o644, uid: -1, gid: -1 };
  }
}

function same(a: Buffer | null, b: string | Buffer): boolean {
  return a !== null && a.equals(typeof b === 'string' ? Buffer.from(b) : b);
}

async function writeTemp(spec: FileSpec): Promise<string> {
  const tmp = join(dirname(spec.path), `.${basename(spec.path)}.${randomBytes(4).toString('hex')}.tmp`);
  const mode = spec.mode ?? 0o644;
  // Create with the final mode (0600 for keys) so the content is never readable by others, even briefly.
  const fh = await fs.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(spec.content);
    await fh.chmod(mode); // umask may have narrowed it
    if (spec.uid !== undefined || spec.gid !== undefined) await fh.chown(spec.uid ?? -1, spec.gid ?? -1);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

/**
 * Installs every file atomically (each one) and together (renames back-to-back).
 * Files whose content, mode and owner already match are left alone.
 */
export async function installFiles(specs: FileSpec[]): Promise<InstallResult> {
  const previous = await Promise.all(specs.map((s) => snapshot(s.path)));
  const todo: { spec: FileSpec; tmp: string }[] = [];
  try {
    for (const [i, spec] of specs.entries()) {
      const prev = previous[i]!;
      const ownerOk = (spec.uid === undefined || spec.uid === prev.uid) && (spec.gid === undefined || spec.gid === prev.gid);
      if (same(prev.content, spec.content) && prev.mode === (spec.mode ?? 0o644) && ownerOk) continue;
      todo.push({ spec, tmp: await writeTemp(spec) });
    }
  } catch (err) {
    await Promise.all(todo.map((t) => fs.rm(t.tmp, { force: true })));
    throw err;
  }
  for (const t of todo) await fs.rename(t.tmp, t.spec.path);
  const changed = specs.filter((s, i) => !same(previous[i]!.content, s.content)).map((s) => s.path);
  return { changed, previous };
}

/** Puts back what installFiles replaced (files that did not exist are removed). */
export async function restoreFiles(previous: Snapshot[]): Promise<void> {
  const back = previous.filter((p) => p.content !== null);
  await installFiles(
    back.map((p) => ({ path: p.path, content: p.content!, mode: p.mode, uid: p.uid, gid: p.gid })),
  );
  for (const p of previous) if (p.content === null) await fs.rm(p.path, { force: true });
}

/** The files of a rendered config under dir; secret files get 0600. */
export function configFileSpecs(
  dir: string,
  files: Map<string, string>,
  secretFiles: Set<string>,
  owner: { uid?: number; gid?: number } = {},
): FileSpec[] {
  return [...files].map(([rel, content]) => ({
    path: join(dir, rel),
    content,
    mode: secretFiles.has(rel) ? 0o600 : 0o644,
    ...owner,
  }));
}

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  caPem: string;
}

/** The three TLS files of a server: cert and CA 0644, key 0600, same owner. */
export function tlsFileSpecs(
  paths: { certFile: string; keyFile: string; caFile: string },
  m: TlsMaterial,
  owner: { uid?: number; gid?: number } = {},
): FileSpec[] {
  return [
    { path: paths.caFile, content: m.caPem, mode: 0o644, ...owner },
    { path: paths.certFile, content: m.certPem, mode: 0o644, ...owner },
    { path: paths.keyFile, content: m.keyPem, mode: 0o600, ...owner },
  ];
}
