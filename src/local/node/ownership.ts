// Volume ownership. Strict (as the kubelet): Secret/ConfigMap/projected files
// belong to root with their modes; with an fsGroup their group is the fsGroup
// and group read is added; emptyDir and PVC roots follow fsGroup and
// fsGroupChangePolicy (recursive chgrp, g+rw, setgid directories). Lenient
// (this node's earlier behaviour, for pod specs written against it): files
// and volume roots are given to the pod's user, so a 0600 key is readable by
// the server that needs it.
import { chmodSync, chownSync, lchownSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { FileOwnership } from './volumes.ts';

const RW_MASK = 0o660;
const RO_MASK = 0o440;
const EXEC_MASK = 0o110;
const SETGID = 0o2000;

/** Ownership of a projected volume's files. `user` is the pod's user (lenient mode); undefined when the agent cannot chown (not root). */
export function projectedOwnership(strict: boolean, pod: V1Pod, user: { uid: number; gid: number } | undefined, canChown: boolean): FileOwnership | undefined {
  if (!canChown) return undefined;
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  if (strict) {
    return fsGroup === undefined
      ? { uid: 0, gid: 0, fileMask: 0, dirMask: 0, rootMode: 0o1777 }
      : { uid: 0, gid: fsGroup, fileMask: RO_MASK, dirMask: SETGID | RO_MASK | EXEC_MASK, rootMode: 0o1777 | SETGID };
  }
  return user ? { uid: user.uid, gid: fsGroup ?? user.gid, fileMask: 0, dirMask: 0 } : undefined;
}

/** The kubelet's requiresPermissionChange: is the root not yet (group, rw, setgid) as fsGroup wants? */
export function rootNeedsChange(dir: string, fsGroup: number, readOnly = false): boolean {
  const st = statSync(dir);
  if (st.gid !== fsGroup || !st.isDirectory()) return true;
  const want = (readOnly ? RO_MASK : RW_MASK) | EXEC_MASK;
  return (st.mode & want) !== want || (st.mode & SETGID) === 0;
}

/**
 * The kubelet's SetVolumeOwnership: every file and directory gets group
 * fsGroup and group read/write (read only for read-only volumes); directories
 * also group search and setgid. Symlinks are chgrp'ed, never chmod'ed or followed.
 */
export function applyFsGroup(dir: string, fsGroup: number, policy: string | undefined, readOnly = false): boolean {
  if (policy === 'OnRootMismatch' && !rootNeedsChange(dir, fsGroup, readOnly)) return false;
  const walk = (p: string) => {
    const st = lstatSync(p);
    lchownSync(p, -1, fsGroup);
    if (st.isSymbolicLink()) return;
    let mask = readOnly ? RO_MASK : RW_MASK;
    if (st.isDirectory()) mask |= SETGID | EXEC_MASK;
    chmodSync(p, (st.mode & 0o7777) | mask);
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  walk(dir);
  return true;
}

/** Lenient mode: a still root-owned writable volume root is given to the pod's user (setgid 2775 with an fsGroup). */
export function giveRootToUser(dir: string, user: { uid: number; gid: number }, fsGroup: number | undefined): void {
  const st = lstatSync(dir);
  if (st.uid !== 0 && st.uid !== process.getuid?.()) return; // already given to somebody: keep
  if (st.uid === user.uid && (fsGroup === undefined || st.gid === fsGroup)) return;
  chownSync(dir, user.uid, fsGroup ?? user.gid);
  chmodSync(dir, fsGroup !== undefined ? 0o2775 : 0o755);
}
