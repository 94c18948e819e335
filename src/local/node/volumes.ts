// Pod volumes as directories under the pod's directory. Secret, ConfigMap,
// projected and downwardAPI volumes use the kubelet's atomic layout: the files
// live in a timestamped ..<ts> directory, `..data` is a symlink to it, and each
// top-level name is a symlink through `..data`. An update writes a new
// directory and renames a new `..data` over the old one, so a reader never
// sees half of an update. All links are relative, so they resolve inside the
// pod's root as well as on the host.
import { chownSync, chmodSync, lchownSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { V1KeyToPath, V1Pod, V1ServiceAccountTokenProjection, V1Volume } from '@kubernetes/client-node';

/** Who owns a projected volume's files, and the bits added to their modes (the kubelet's fsGroup handling). */
export interface FileOwnership {
  uid: number;
  gid: number;
  /** OR'ed into every file's mode. */
  fileMask: number;
  /** OR'ed into every directory's 0755. */
  dirMask: number;
  /** The volume directory's own mode (a kubelet's tmpfs is 1777, setgid with an fsGroup); undefined: 0755, left as it is. */
  rootMode?: number;
}

/** path (relative, may contain '/') → content and mode. */
export type Payload = Map<string, { data: Buffer; mode: number }>;

export class VolumeError extends Error {}

function safeRelative(p: string): string {
  const n = normalize(p);
  if (n.startsWith('/') || n.startsWith('..') || n.split('/').some((s) => s === '..')) throw new VolumeError(`invalid path ${p}`);
  return n;
}

/** Projects keys of a Secret/ConfigMap into files, honouring items and modes. */
export function projectKeys(
  data: Record<string, Buffer>,
  items: V1KeyToPath[] | undefined,
  defaultMode: number,
  what: string,
  optional = false,
): Payload {
  const out: Payload = new Map();
  if (items && items.length > 0) {
    for (const it of items) {
      const v = data[it.key];
      if (v === undefined) {
        if (optional) continue;
        throw new VolumeError(`${what}: key ${it.key} not found`);
      }
      out.set(safeRelative(it.path), { data: v, mode: it.mode ?? defaultMode });
    }
  } else {
    for (const [k, v] of Object.entries(data)) out.set(safeRelative(k), { data: v, mode: defaultMode });
  }
  return out;
}

function payloadEqual(dir: string, payload: Payload, own: FileOwnership | undefined): boolean {
  const cur = join(dir, '..data');
  if (!existsSync(cur)) return false;
  const topNow = readdirSync(dir).filter((n) => !n.startsWith('..')).sort();
  const topWant = [...new Set([...payload.keys()].map((p) => p.split('/')[0]!))].sort();
  if (topNow.join('\0') !== topWant.join('\0')) return false;
  for (const [p, f] of payload) {
    const file = join(cur, p);
    try {
      const st = lstatSync(file);
      if ((st.mode & 0o7777) !== (f.mode | (own?.fileMask ?? 0))) return false;
      if (own && (st.uid !== own.uid || st.gid !== own.gid)) return false;
      if (!readFileSync(file).equals(f.data)) return false;
    } catch {
      return false; // missing or unreadable: write the payload again
    }
  }
  return true;
}

/** Writes payload into dir atomically; returns true when something changed. */
export function writeAtomic(dir: string, payload: Payload, own: FileOwnership | undefined, now = Date.now()): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (own?.rootMode !== undefined) {
    chownSync(dir, own.uid, own.gid);
    chmodSync(dir, own.rootMode);
  }
  if (payloadEqual(dir, payload, own)) return false;
  const tsName = `..${new Date(now).toISOString().replace(/[:.]/g, '_')}.${process.pid}.${Math.floor(Math.random() * 1e6)}`;
  const tsDir = join(dir, tsName);
  mkdirSync(tsDir, { mode: 0o755 });
  const dirs = new Set<string>([tsDir]);
  for (const [p, f] of payload) {
    const file = join(tsDir, p);
    for (let d = dirname(file); d !== tsDir && d.startsWith(tsDir); d = dirname(d)) dirs.add(d);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, f.data, { mode: f.mode });
    chmodSync(file, f.mode | (own?.fileMask ?? 0));
    if (own) chownSync(file, own.uid, own.gid);
  }
  for (const d of dirs) {
    if (!own) continue;
    chownSync(d, own.uid, own.gid);
    chmodSync(d, 0o755 | own.dirMask);
  }
  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(tsName, tmpLink);
  if (own) lchownSync(tmpLink, own.uid, own.gid);
  renameSync(tmpLink, join(dir, '..data'));
  const top = new Set([...payload.keys()].map((p) => p.split('/')[0]!));
  for (const name of top) {
    const link = join(dir, name);
    try {
      lstatSync(link);
    } catch {
      // not there yet
      symlinkSync(join('..data', name), link);
      if (own) lchownSync(link, own.uid, own.gid);
    }
  }
  // Old generations go only after ..data points at the new one.
  for (const name of readdirSync(dir)) {
    if (name === '..data' || name === tsName) continue;
    if (name.startsWith('..') || !top.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  return true;
}

/** Where a volume lives under the pod directory. */
export function volumeDir(podDir: string, v: V1Volume): string {
  const kind = volumeKind(v);
  return join(podDir, 'volumes', kind, v.name);
}

export function volumeKind(v: V1Volume): string {
  if (v.secret) return 'secret';
  if (v.configMap) return 'configmap';
  if (v.projected) return 'projected';
  if (v.downwardAPI) return 'downward-api';
  if (v.emptyDir) return 'empty-dir';
  if (v.persistentVolumeClaim) return 'pvc';
  if (v.hostPath) return 'host-path';
  return 'unsupported';
}

export interface VolumeSources {
  secret(name: string): Record<string, Buffer> | undefined;
  configMap(name: string): Record<string, Buffer> | undefined;
  field(path: string): string;
  /** A bound service account token (throws VolumeError until there is one). */
  token(source: V1ServiceAccountTokenProjection): Buffer;
}

/** The files a Secret/ConfigMap/projected/downwardAPI volume should hold now. */
export function payloadFor(pod: V1Pod, v: V1Volume, src: VolumeSources): Payload {
  const ns = pod.metadata?.namespace ?? '';
  if (v.secret) {
    const data = src.secret(v.secret.secretName!);
    if (!data) {
      if (v.secret.optional) return new Map();
      throw new VolumeError(`secret "${v.secret.secretName}" not found in ${ns}`);
    }
    return projectKeys(data, v.secret.items, v.secret.defaultMode ?? 0o644, `secret ${v.secret.secretName}`, v.secret.optional);
  }
  if (v.configMap) {
    const data = src.configMap(v.configMap.name!);
    if (!data) {
      if (v.configMap.optional) return new Map();
      throw new VolumeError(`configmap "${v.configMap.name}" not found in ${ns}`);
    }
    return projectKeys(data, v.configMap.items, v.configMap.defaultMode ?? 0o644, `configmap ${v.configMap.name}`, v.configMap.optional);
  }
  if (v.downwardAPI) {
    const out: Payload = new Map();
    for (const it of v.downwardAPI.items ?? []) {
      if (it.fieldRef) out.set(safeRelative(it.path), { data: Buffer.from(src.field(it.fieldRef.fieldPath)), mode: it.mode ?? v.downwardAPI.defaultMode ?? 0o644 });
    }
    return out;
  }
  if (v.projected) {
    const out: Payload = new Map();
    const mode = v.projected.defaultMode ?? 0o644;
    for (const s of v.projected.sources ?? []) {
      let part: Payload = new Map();
      if (s.secret) {
        const data = src.secret(s.secret.name!);
        if (!data && !s.secret.optional) throw new VolumeError(`secret "${s.secret.name}" not found in ${ns}`);
        if (data) part = projectKeys(data, s.secret.items, mode, `secret ${s.secret.name}`, s.secret.optional);
      } else if (s.configMap) {
        const data = src.configMap(s.configMap.name!);
        if (!data && !s.configMap.optional) throw new VolumeError(`configmap "${s.configMap.name}" not found in ${ns}`);
        if (data) part = projectKeys(data, s.configMap.items, mode, `configmap ${s.configMap.name}`, s.configMap.optional);
      } else if (s.downwardAPI) {
        for (const it of s.downwardAPI.items ?? []) {
          if (it.fieldRef) part.set(safeRelative(it.path), { data: Buffer.from(src.field(it.fieldRef.fieldPath)), mode: it.mode ?? mode });
        }
      } else if (s.serviceAccountToken) {
        part.set(safeRelative(s.serviceAccountToken.path), { data: src.token(s.serviceAccountToken), mode });
      }
      // clusterTrustBundle sources are not served by this node.
      for (const [k, f] of part) out.set(k, f);
    }
    return out;
  }
  throw new VolumeError(`volume ${v.name} is not a projected kind`);
}

export const isProjectedKind = (v: V1Volume) => Boolean(v.secret || v.configMap || v.projected || v.downwardAPI);
