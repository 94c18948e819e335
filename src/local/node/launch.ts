// How a container becomes a process (needs root). Each container starts in
// its own mount and UTS namespace (unshare), inside the pod's network
// namespace when pods have one (nsenter --net), and gets a root assembled by a
// shell script before anything of the container runs:
//  - image root: an overlay with the image's root filesystem as its read-only
//    lower layer and a per-container upper layer (the container's writable
//    layer, discarded on restart);
//  - host-binary root (images that are programs of this machine): the host's
//    /usr, /bin, /lib… bound in, a copy-on-write /etc, private /var /run /tmp.
// Only /dev, /proc, /sys, the pod's /etc/hosts, resolv.conf and hostname, and
// its volumes come from outside. Mount points are made and resolved inside
// the root (chroot), so a symlink in an image never leads to the host's files.
// The script ends in `unshare --root --wd` (chroot and working directory,
// with the host's binary) and the image's setpriv, which sets the user,
// groups, capability bounding set and no_new_privs, then execs: the pid we
// spawn becomes the server's pid. Pure: this module only builds argv.
import { readdirSync, lstatSync, readlinkSync } from 'node:fs';

export interface Mount {
  source: string;
  target: string;
  readOnly?: boolean;
  /** The source is a file (subPath of a file): the mount point is a file. */
  file?: boolean;
}

export interface HostEntry {
  name: string;
  kind: 'dir' | 'link' | 'other';
  link?: string;
}

export interface LaunchSpec {
  /** Where the root is assembled: an empty directory. */
  rootDir: string;
  /** An image's root filesystem and the container's overlay layers. */
  image?: { lower: string; upper: string; work: string };
  /** A host-binary root: copy-on-write /etc layers, extra host directories bound at the same path, the host's top-level entries. */
  host?: { etcUpper: string; etcWork: string; extraRoots: string[]; entries: HostEntry[] };
  hostsFile: string;
  resolvFile: string;
  hostnameFile: string;
  hostname: string;
  mounts: Mount[];
  readOnlyRoot: boolean;
  /** setpriv's options (user, groups, capabilities, no_new_privs). */
  setpriv: string[];
  workingDir: string;
  argv: string[];
}

/** Top-level host entries that a host-binary root shares as they are. */
const SHARED = new Set(['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']);
const PRIVATE: Record<string, number> = { var: 0o755, run: 0o755, tmp: 0o1777, opt: 0o755, home: 0o755, root: 0o700, srv: 0o755, mnt: 0o755, media: 0o755 };
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The image's binaries the launch relies on (Debian's Essential packages dash, coreutils, util-linux). */
export const ROOT_TOOLS = ['/bin/sh', '/bin/mkdir', '/usr/bin/setpriv'];

export function hostRootEntries(): HostEntry[] {
  return readdirSync('/').map((name) => {
    const st = lstatSync(`/${name}`);
    if (st.isSymbolicLink()) return { name, kind: 'link' as const, link: readlinkSync(`/${name}`) };
    return { name, kind: st.isDirectory() ? ('dir' as const) : ('other' as const) };
  });
}

export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function hostRoot(R: string, h: NonNullable<LaunchSpec['host']>): string[] {
  const L: string[] = [`mount --bind ${R} ${R}`];
  for (const e of h.entries) {
    const dst = `${R}/${shq(e.name)}`;
    if (e.kind === 'link' && SHARED.has(e.name) && e.link && !e.link.startsWith('/')) L.push(`ln -s ${shq(e.link)} ${dst}`);
    else if (e.kind === 'dir' && SHARED.has(e.name)) L.push(`mkdir ${dst}`, `mount --rbind /${shq(e.name)} ${dst}`);
  }
  for (const [name, mode] of Object.entries(PRIVATE)) L.push(`mkdir -m ${mode.toString(8)} ${R}/${name}`);
  // Debian's /var/run and /var/lock point into /run; relative, so they stay inside the root.
  L.push(`ln -s ../run ${R}/var/run`, `ln -s ../run/lock ${R}/var/lock`, `mkdir ${R}/run/lock`);
  L.push(`mkdir ${R}/etc`, `mount -t overlay pgtls-etc -o lowerdir=/etc,upperdir=${shq(h.etcUpper)},workdir=${shq(h.etcWork)} ${R}/etc`);
  for (const dir of h.extraRoots) L.push(`mkdir -p ${R}${shq(dir)}`, `mount --rbind ${shq(dir)} ${R}${shq(dir)}`);
  return L;
}

/** The shell script run inside the new mount namespace (pure). */
export function launchScript(spec: LaunchSpec): string {
  const R = shq(spec.rootDir);
  // The script runs host tools with the host's PATH; the container's PATH is restored for the final exec.
  const L: string[] = ['set -e', 'cd /', 'CPATH="$PATH"', `PATH=${SYSTEM_PATH}`, `printf %s ${shq(spec.hostname)} > /proc/sys/kernel/hostname`];
  if (spec.image) {
    const i = spec.image;
    L.push(`mount -t overlay pgtls-root -o lowerdir=${shq(i.lower)},upperdir=${shq(i.upper)},workdir=${shq(i.work)} ${R}`);
    for (const t of ROOT_TOOLS) L.push(`[ -x ${R}${t} ] || { echo "image has no ${t}, which this node needs to start a container" >&2; exit 127; }`);
  } else if (spec.host) L.push(...hostRoot(R, spec.host));
  // A path inside the root with its symlinks resolved inside the root.
  L.push(`inroot() { chroot ${R} /bin/sh -c 'cd "$1" && pwd -P' sh "$1"; }`);
  for (const d of ['dev', 'proc', 'sys']) L.push(`chroot ${R} /bin/mkdir -p /${d}`, `mount --rbind /${d} ${R}$(inroot /${d})`);
  L.push(`mount -o remount,bind,ro ${R}$(inroot /sys)`);
  // /etc/hosts & co. become plain files first: a symlink there could point anywhere.
  L.push(`chroot ${R} /bin/sh -c 'mkdir -p /etc; for f; do if [ -L "$f" ] || [ ! -f "$f" ]; then rm -rf "$f"; : > "$f"; fi; done' sh /etc/hosts /etc/resolv.conf /etc/hostname`);
  for (const [file, target] of [
    [spec.hostsFile, '/etc/hosts'],
    [spec.resolvFile, '/etc/resolv.conf'],
    [spec.hostnameFile, '/etc/hostname'],
  ] as const) {
    L.push(`mount --bind ${shq(file)} ${R}${target}`);
  }
  for (const m of spec.mounts) {
    const t = shq(m.target);
    if (m.file) {
      L.push(`chroot ${R} /bin/sh -c 'mkdir -p "$(dirname "$1")"; [ -e "$1" ] || : > "$1"' sh ${t}`);
      L.push(`mp=${R}"$(inroot "$(dirname ${t})")/$(basename ${t})"`);
    } else {
      L.push(`chroot ${R} /bin/mkdir -p ${t}`, `mp=${R}"$(inroot ${t})"`);
    }
    L.push(`mount --bind ${shq(m.source)} "$mp"`);
    if (m.readOnly) L.push(`mount -o remount,bind,ro "$mp"`);
  }
  if (spec.workingDir !== '/') L.push(`chroot ${R} /bin/mkdir -p ${shq(spec.workingDir)}`);
  if (spec.readOnlyRoot) L.push(`mount -o remount,bind,ro ${R}`);
  const argv = spec.argv.map(shq).join(' ');
  L.push(`PATH="$CPATH" exec /usr/bin/unshare --root=${R} --wd=${shq(spec.workingDir)} -- /usr/bin/setpriv ${spec.setpriv.map(shq).join(' ')} -- ${argv}`);
  return L.join('\n');
}

/** argv for spawn: private mount and UTS namespaces (inside the pod's network namespace, if any) running the script. */
export function launchArgv(script: string, netns?: string): { file: string; args: string[] } {
  const inner = ['/usr/bin/unshare', '--mount', '--uts', '--propagation', 'private', '--', '/bin/sh', '-c', script];
  return netns ? { file: '/usr/bin/nsenter', args: [`--net=${netns}`, '--', ...inner] } : { file: inner[0]!, args: inner.slice(1) };
}

/** argv to run a command inside a running container (kubectl exec, exec probes), with the container's identity. */
export function enterArgv(pid: number, setpriv: string[], argv: string[]): { file: string; args: string[] } {
  return { file: '/usr/bin/nsenter', args: [`--target=${pid}`, '--mount', '--uts', '--net', '--root', '--wd', '--', '/usr/bin/setpriv', ...setpriv, '--', ...argv] };
}
