// A container's securityContext as process attributes: the capability
// bounding set (a CRI runtime's default set, minus `drop`, plus `add`),
// no_new_privs for `allowPrivilegeEscalation: false`, a read-only root for
// `readOnlyRootFilesystem`. Applied with util-linux setpriv, which execs, so
// the process we spawn is the server itself. Pure.
import type { V1Container } from '@kubernetes/client-node';
import type { RunAs } from './users.ts';

/** containerd's and CRI-O's default capabilities for a container. */
export const DEFAULT_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

export interface ProcessSecurity {
  /** Capability names (without CAP_) kept in the bounding set; undefined: all (privileged). */
  capabilities?: string[];
  noNewPrivs: boolean;
  readOnlyRoot: boolean;
}

const capName = (c: string) => c.toUpperCase().replace(/^CAP_/, '');

export function processSecurity(c: V1Container): ProcessSecurity {
  const sc = c.securityContext ?? {};
  const privileged = sc.privileged === true;
  let caps: string[] | undefined;
  if (!privileged) {
    const drop = new Set((sc.capabilities?.drop ?? []).map(capName));
    const base = drop.has('ALL') ? [] : DEFAULT_CAPABILITIES.filter((x) => !drop.has(x));
    caps = [...new Set([...base, ...(sc.capabilities?.add ?? []).map(capName).filter((x) => x !== 'ALL')])];
    if ((sc.capabilities?.add ?? []).map(capName).includes('ALL')) caps = undefined;
  }
  return { capabilities: caps, noNewPrivs: sc.allowPrivilegeEscalation === false && !privileged, readOnlyRoot: sc.readOnlyRootFilesystem === true };
}

/** setpriv's arguments (before `--`) for a user and its security attributes. */
export function setprivArgs(ra: RunAs, sec: ProcessSecurity): string[] {
  const args = [`--reuid=${ra.uid}`, `--regid=${ra.gid}`, ra.groups.length > 0 ? `--groups=${ra.groups.join(',')}` : '--clear-groups'];
  if (sec.capabilities) {
    const keep = sec.capabilities.map((x) => `+${x.toLowerCase()}`);
    args.push(`--bounding-set=${['-all', ...keep].join(',')}`, '--inh-caps=-all');
  }
  if (sec.noNewPrivs) args.push('--no-new-privs');
  return args;
}
