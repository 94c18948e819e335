// Who a container runs as, decided as the kubelet and a CRI runtime do it:
// runAsUser/runAsGroup (container over pod), else the image's `User`
// ("uid", "uid:gid", "name", "name:group"; names resolved in the image's own
// /etc/passwd and /etc/group), supplementary groups from the image's
// /etc/group plus fsGroup and supplementalGroups; runAsNonRoot verified with
// the kubelet's exact messages. Pure: the user database is passed in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface UserDb {
  passwd: PasswdEntry[];
  group: GroupEntry[];
}

export interface RunAs {
  uid: number;
  gid: number;
  /** Supplementary groups, in the order a runtime sets them. */
  groups: number[];
  /** HOME when the image and the pod set none: the passwd entry's, else "/". */
  home: string;
}

/** A container's configuration cannot be applied (the kubelet's CreateContainerConfigError). */
export class UserError extends Error {}

const lines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));

export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text)
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

export function parseGroup(text: string): GroupEntry[] {
  return lines(text)
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]!))
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').filter(Boolean) }));
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // an image without the file has no named users, as in a runtime
  }
}

/** The user database of a root filesystem ("/" for the host's). */
export function userDbOf(root: string): UserDb {
  return { passwd: parsePasswd(readOrEmpty(join(root, 'etc/passwd'))), group: parseGroup(readOrEmpty(join(root, 'etc/group'))) };
}

/** An image config's User split as a runtime reads it. */
export function parseImageUser(user: string | undefined): { uid?: number; name?: string; group?: string } {
  const u = (user ?? '').trim();
  if (!u) return { uid: 0 };
  const [who, group] = u.split(':', 2) as [string, string | undefined];
  const base = /^\d+$/.test(who) ? { uid: Number(who) } : { name: who };
  return group ? { ...base, group } : base;
}

const podRef = (pod: V1Pod) => `${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`;

/**
 * The kubelet's verifyRunAsNonRoot, message for message: an error string when
 * the container must not start, undefined when it may.
 */
export function runAsNonRootViolation(pod: V1Pod, c: V1Container, imageUser: string | undefined): string | undefined {
  const psc = pod.spec?.securityContext ?? {};
  const csc = c.securityContext ?? {};
  const nonRoot = csc.runAsNonRoot ?? psc.runAsNonRoot;
  if (!nonRoot) return undefined;
  const runAsUser = csc.runAsUser ?? psc.runAsUser;
  const where = `(pod: "${podRef(pod)}", container: ${c.name})`;
  if (runAsUser !== undefined) return runAsUser === 0 ? `container's runAsUser breaks non-root policy ${where}` : undefined;
  const img = parseImageUser(imageUser);
  if (img.uid === 0) return `container has runAsNonRoot and image will run as root ${where}`;
  if (img.uid === undefined && img.name) return `container has runAsNonRoot and image has non-numeric user (${img.name}), cannot verify user is non-root ${where}`;
  return undefined;
}

/** The process identity of a container. Throws UserError when it cannot be determined or is refused. */
export function resolveRunAs(pod: V1Pod, c: V1Container, imageUser: string | undefined, db: UserDb): RunAs {
  const refused = runAsNonRootViolation(pod, c, imageUser);
  if (refused) throw new UserError(refused);
  const psc = pod.spec?.securityContext ?? {};
  const csc = c.securityContext ?? {};
  const img = parseImageUser(imageUser);
  let uid: number;
  let name: string | undefined;
  const runAsUser = csc.runAsUser ?? psc.runAsUser;
  if (runAsUser !== undefined) {
    uid = runAsUser;
    name = db.passwd.find((e) => e.uid === uid)?.name;
  } else if (img.uid !== undefined) {
    uid = img.uid;
    name = db.passwd.find((e) => e.uid === uid)?.name;
  } else {
    const e = db.passwd.find((x) => x.name === img.name);
    if (!e) throw new UserError(`unable to find user ${img.name}: no matching entries in passwd file`);
    uid = e.uid;
    name = e.name;
  }
  const entry = db.passwd.find((e) => e.uid === uid);
  let gid: number;
  const runAsGroup = csc.runAsGroup ?? psc.runAsGroup;
  if (runAsGroup !== undefined) gid = runAsGroup;
  else if (img.group !== undefined && runAsUser === undefined) {
    if (/^\d+$/.test(img.group)) gid = Number(img.group);
    else {
      const g = db.group.find((x) => x.name === img.group);
      if (!g) throw new UserError(`unable to find group ${img.group}: no matching entries in group file`);
      gid = g.gid;
    }
  } else gid = entry?.gid ?? 0;
  // The primary group (containerd lists it too), the image's /etc/group
  // memberships, then fsGroup and supplementalGroups (policy Merge).
  const member = name ? db.group.filter((g) => g.members.includes(name!)).map((g) => g.gid) : [];
  const extra = [...(psc.fsGroup !== undefined ? [psc.fsGroup] : []), ...(psc.supplementalGroups ?? [])];
  const groups = [...new Set([gid, ...member, ...extra])];
  return { uid, gid, groups, home: entry?.home || '/' };
}
