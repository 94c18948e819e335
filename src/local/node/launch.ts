// How a container becomes a process. With root, each container starts in its
// own mount namespace (unshare) and is chrooted into a per-container root
// assembled from bind mounts: the host's /usr, /lib... (the "image"), a
// copy-on-write /etc (overlayfs), private /var /run /tmp /opt, and the pod's
// volumes at their mountPaths. So `/tls/certs/server.key` or
// `/var/pv/data` mean the same to the server process, to probes and to
// `kubectl exec` as on a real node, while the host's filesystem is untouched.
// Privileges are dropped last with setpriv, which execs: the pid we spawn is
// the server's pid. Without root (mount namespaces need CAP_SYS_ADMIN) the
// process runs directly on the host filesystem; see docs/local-node.md.
import { readdirSync, lstatSync, readlinkSync } from 'node:fs';

export interface Mount {
  source: string;
  target: string;
  readOnly?: boolean;
  /** The source is a file (subPath of a file): the mount point is a file. */
  file?: boolean;
}

export interface LaunchSpec {
  rootfs: string;
  etcUpper: string;
  etcWork: string;
  hostsFile: string;
  resolvFile: string;
  hostnameFile: string;
  /** Host directories bound at the same path (e.g. an image's program tree). */
  extraRoots: string[];
  mounts: Mount[];
  uid: number;
  gid: number;
  groups: number[];
  workingDir: string;
  argv: string[];
}

/** Top-level host entries that are shared into every pod root as they are. */
const SHARED = new Set(['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']);
const SPECIAL = new Set(['dev', 'proc', 'sys']);
const PRIVATE: Record<string, number> = { var: 0o755, run: 0o755, tmp: 0o1777, opt: 0o755, home: 0o755, root: 0o700, srv: 0o755, mnt: 0o755, media: 0o755 };

export interface HostEntry {
  name: string;
  kind: 'dir' | 'link' | 'other';
  link?: string;
}

export function hostRootEntries(): HostEntry[] {
  return readdirSync('/').map((name) => {
    const st = lstatSync(`/${name}`);
    if (st.isSymbolicLink()) return { name, kind: 'link' as const, link: readlinkSync(`/${name}`) };
    return { name, kind: st.isDirectory() ? ('dir' as const) : ('other' as const) };
  });
}

export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell script run inside the new mount namespace (pure). */
export function launchScript(spec: LaunchSpec, host: HostEntry[]): string {
  const R = shq(spec.rootfs);
  const L: string[] = ['set -e', `cd /`];
  for (const e of host) {
    const dst = `${R}/${shq(e.name)}`;
    if (e.kind === 'link' && SHARED.has(e.name) && e.link && !e.link.startsWith('/')) L.push(`ln -s ${shq(e.link)} ${dst}`);
    else if (e.kind === 'dir' && SHARED.has(e.name)) L.push(`mkdir ${dst}`, `mount --rbind /${shq(e.name)} ${dst}`);
    else if (e.kind === 'dir' && SPECIAL.has(e.name)) L.push(`mkdir ${dst}`, `mount --rbind /${shq(e.name)} ${dst}`);
  }
  for (const [name, mode] of Object.entries(PRIVATE)) L.push(`mkdir -m ${mode.toString(8)} ${R}/${name}`);
  // Debian's /var/run and /var/lock point into /run; relative, so they stay inside the root.
  L.push(`ln -s ../run ${R}/var/run`, `ln -s ../run/lock ${R}/var/lock`, `mkdir ${R}/run/lock`);
  L.push(`mkdir ${R}/etc`, `mount -t overlay pgtls-etc -o lowerdir=/etc,upperdir=${shq(spec.etcUpper)},workdir=${shq(spec.etcWork)} ${R}/etc`);
  for (const [file, target] of [
    [spec.hostsFile, '/etc/hosts'],
    [spec.resolvFile, '/etc/resolv.conf'],
    [spec.hostnameFile, '/etc/hostname'],
  ] as const) {
    L.push(`[ -e ${R}${target} ] || : > ${R}${target}`, `mount --bind ${shq(file)} ${R}${target}`);
  }
  for (const dir of spec.extraRoots) L.push(`mkdir -p ${R}${shq(dir)}`, `mount --rbind ${shq(dir)} ${R}${shq(dir)}`);
  for (const m of spec.mounts) {
    // Mount points are created from inside the root so that no symlink can lead outside it.
    const t = shq(m.target);
    if (m.file) L.push(`chroot ${R} /bin/sh -c 'mkdir -p "$(dirname "$1")"; [ -e "$1" ] || : > "$1"' sh ${t}`);
    else L.push(`chroot ${R} /bin/mkdir -p ${t}`);
    L.push(`mount --bind ${shq(m.source)} ${R}${t}`);
    if (m.readOnly) L.push(`mount -o remount,bind,ro ${R}${t}`);
  }
  const groups = spec.groups.length > 0 ? `--groups=${spec.groups.join(',')}` : '--clear-groups';
  const argv = spec.argv.map(shq).join(' ');
  if (spec.workingDir !== '/') L.push(`chroot ${R} /bin/mkdir -p ${shq(spec.workingDir)}`);
  L.push(
    `exec chroot ${R} /usr/bin/setpriv --reuid=${spec.uid} --regid=${spec.gid} ${groups} -- /bin/sh -c 'cd "$0" || exit 127; exec "$@"' ${shq(spec.workingDir)} ${argv}`,
  );
  return L.join('\n');
}

/** argv for spawn: a private mount namespace running the script. */
export function launchArgv(script: string): { file: string; args: string[] } {
  return { file: '/usr/bin/unshare', args: ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script] };
}

/** argv to run a command inside a running container (kubectl exec, exec probes). */
export function enterArgv(pid: number, uid: number, gid: number, groups: number[], argv: string[]): { file: string; args: string[] } {
  const g = groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups';
  return { file: '/usr/bin/nsenter', args: [`--target=${pid}`, '--mount', '--root', '--wd', '--', '/usr/bin/setpriv', `--reuid=${uid}`, `--regid=${gid}`, g, '--', ...argv] };
}
