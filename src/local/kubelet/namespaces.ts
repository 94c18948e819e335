// The node's two namespaces: the network namespace (bridge with the node
// address, routes) and a private mount namespace that holds every mount the
// kubelet and containerd make (overlay snapshots, volume tmpfs, pod netns
// files, shim sockets under /run). Deleting both undoes all of it on `down`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeletNodeLayout } from './layout.ts';
import { netnsPath } from './layout.ts';
import { BRIDGE, NODE_IP, POD_PREFIX } from '../net/topology.ts';
import { NODE_ROUTES } from './configs.ts';

export class HostCommandError extends Error {}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new HostCommandError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new HostCommandError(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

export const netnsExists = (name: string) => existsSync(netnsPath(name));

/** Creates the node network namespace with its bridge and routes (idempotent). */
export function ensureNetns(name: string): void {
  if (!netnsExists(name)) sh('ip', ['netns', 'add', name]);
  const ip = (...a: string[]) => sh('ip', ['-n', name, ...a]);
  ip('link', 'set', 'lo', 'up');
  if (!ip('-o', 'link', 'show').includes(` ${BRIDGE}:`)) ip('link', 'add', BRIDGE, 'type', 'bridge');
  if (!ip('-o', 'addr', 'show', 'dev', BRIDGE).includes(`${NODE_IP}/`)) ip('addr', 'add', `${NODE_IP}/${POD_PREFIX}`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  for (const r of NODE_ROUTES) ip('route', 'replace', r.dst, 'dev', r.dev, 'src', r.src);
}

export function deleteNetns(name: string): void {
  if (netnsExists(name)) sh('ip', ['netns', 'delete', name]);
}

/** True when file is a mounted namespace handle (an nsfs bind mount). */
export function isNsHandle(file: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === file && l.includes(' - nsfs '));
}

/**
 * The sysctls the kubelet checks at start (pkg/kubelet/cm setupKernelTunables)
 * with the values it wants. They are host-global, so instead of letting it
 * write them, the node's mount namespace sees files holding these values.
 */
export const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

/** The sysctls whose host value differs from the kubelet's wish (pure, for the tests). */
export function sysctlsToMask(read: (key: string) => string | undefined): [string, string][] {
  return Object.entries(KUBELET_SYSCTLS).filter(([k, v]) => {
    const cur = read(k);
    return cur !== undefined && cur.trim() !== v;
  });
}

/** The shell script run once inside the new mount namespace. */
export function mountScript(l: KubeletNodeLayout, masks: [string, string][]): string {
  const o = (n: string) => join(l.overlays, n);
  const lines = [
    'set -eu',
    // shim sockets (/run/containerd/s), pod netns files (/run/netns), the iptables lock: private
    'mount -t tmpfs -o mode=0755 pgtls-run /run',
    `mount -t overlay pgtls-varlib -o lowerdir=/var/lib,upperdir=${o('varlib/upper')},workdir=${o('varlib/work')} /var/lib`,
    `mount -t overlay pgtls-varlog -o lowerdir=/var/log,upperdir=${o('varlog/upper')},workdir=${o('varlog/work')} /var/log`,
    ...masks.map(([k]) => `mount --bind ${join(l.sysctls, k.replace(/\//g, '.'))} /proc/sys/${k}`),
  ];
  return lines.join('\n') + '\n';
}

/** Creates the node's private mount namespace and its mounts (idempotent). */
export function ensureMountNs(l: KubeletNodeLayout): void {
  if (isNsHandle(l.mountNs)) return;
  for (const d of ['varlib/upper', 'varlib/work', 'varlog/upper', 'varlog/work']) mkdirSync(join(l.overlays, d), { recursive: true });
  mkdirSync(l.sysctls, { recursive: true });
  const masks = sysctlsToMask((k) => {
    try {
      return readFileSync(`/proc/sys/${k}`, 'utf8');
    } catch {
      return undefined;
    }
  });
  for (const [k, v] of masks) writeFileSync(join(l.sysctls, k.replace(/\//g, '.')), `${v}\n`);
  writeFileSync(l.mountNs, '');
  // The handle's directory must not be a shared mount for the bind to hold; the pgtls home never is on these hosts.
  sh('unshare', [`--mount=${l.mountNs}`, '--propagation', 'private', 'true']);
  try {
    sh('nsenter', [`--mount=${l.mountNs}`, 'sh', '-c', mountScript(l, masks)]);
  } catch (err) {
    releaseMountNs(l);
    throw err;
  }
}

/** Unmounting the handle drops the namespace, and every mount in it, once its last process is gone. */
export function releaseMountNs(l: KubeletNodeLayout): void {
  if (isNsHandle(l.mountNs)) sh('umount', [l.mountNs]);
  rmSync(l.mountNs, { force: true });
}

function nsInode(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch {
    return undefined;
  }
}

/**
 * Pids of processes inside the node's mount or network namespace (containerd's
 * shims) or in a cgroup under the node's cgroup root (containers): ours by construction.
 */
export function processesInNode(l: KubeletNodeLayout, cgroupRoot: string | undefined): number[] {
  const mnt = isNsHandle(l.mountNs) ? nsInode(l.mountNs) : undefined;
  const net = netnsExists(l.netns) ? nsInode(netnsPath(l.netns)) : undefined;
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${d}/ns/mnt`))?.[1];
      const n = /\[(\d+)\]/.exec(readlinkSync(`/proc/${d}/ns/net`))?.[1];
      const inCgroup = cgroupRoot !== undefined && readFileSync(`/proc/${d}/cgroup`, 'utf8').split('\n').some((line) => {
        const path = line.split(':').slice(2).join(':');
        return path === cgroupRoot || path.startsWith(`${cgroupRoot}/`);
      });
      if ((mnt !== undefined && Number(m) === mnt) || (net !== undefined && Number(n) === net) || inCgroup) pids.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

export { sh as hostCommand };
