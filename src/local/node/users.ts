// Who a container runs as: securityContext first, else the image's user,
// looked up in this host's /etc/passwd (which is also the pods' /etc/passwd).
import { readFileSync } from 'node:fs';
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export interface RunAs {
  uid: number;
  gid: number;
  groups: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

let cache: PasswdEntry[] | undefined;
function passwd(): PasswdEntry[] {
  cache ??= parsePasswd(readFileSync('/etc/passwd', 'utf8'));
  return cache;
}

export function lookupUser(nameOrUid: string | number, entries = passwd()): PasswdEntry | undefined {
  return typeof nameOrUid === 'number' || /^\d+$/.test(nameOrUid)
    ? entries.find((e) => e.uid === Number(nameOrUid))
    : entries.find((e) => e.name === nameOrUid);
}

export class UserError extends Error {}

/** The pod/container securityContext wins over the image default; fsGroup and supplementalGroups join the groups. */
export function runAs(pod: V1Pod, c: V1Container, imageUser: string, entries = passwd()): RunAs {
  const psc = pod.spec?.securityContext ?? {};
  const csc = c.securityContext ?? {};
  const uidSet = csc.runAsUser ?? psc.runAsUser;
  let uid: number;
  let gid: number | undefined = csc.runAsGroup ?? psc.runAsGroup;
  if (uidSet !== undefined) {
    uid = uidSet;
    gid ??= lookupUser(uid, entries)?.gid ?? 0;
  } else {
    const u = lookupUser(imageUser, entries);
    if (!u) throw new UserError(`image user ${imageUser} does not exist on this host`);
    uid = u.uid;
    gid ??= u.gid;
  }
  if ((csc.runAsNonRoot ?? psc.runAsNonRoot) && uid === 0) {
    throw new UserError('container has runAsNonRoot and image will run as root');
  }
  const groups = [...new Set([...(psc.fsGroup !== undefined ? [psc.fsGroup] : []), ...(psc.supplementalGroups ?? [])])];
  return { uid, gid, groups };
}

export function homeOf(uid: number): string {
  return lookupUser(uid)?.home ?? '/';
}
