// The cluster's network namespaces, with iproute2: the node namespace (`lo`,
// the bridge with the node address, forwarding on inside it only) created by
// `pgtls up`, and on `pgtls down` that namespace and every pod namespace left
// of the same cluster deleted. Nothing on the host is changed: no host
// sysctl, route, interface or address. Steps are data (unit-tested), acts are thin.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, unlinkSync } from 'node:fs';
import { BRIDGE, NODE_IP, nodeNetnsName, POD_PREFIX, SERVICE_CIDR } from './topology.ts';

export const NETNS_DIR = '/run/netns';
export const netnsFile = (name: string) => `${NETNS_DIR}/${name}`;

export class NetnsCommandError extends Error {}

export function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function runOk(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new NetnsCommandError(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Why this host cannot have pgtls network namespaces, or undefined when it can. */
export function netnsUnsupportedReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (run pgtls up as root)';
  for (const tool of ['ip', 'nsenter', 'sysctl']) {
    if (!['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => existsSync(`${d}/${tool}`))) return `\`${tool}\` is missing (Debian: apt-get install iproute2 util-linux procps)`;
  }
  return undefined;
}

/** Locally administered, the same in every node namespace (each is its own link). */
export const BRIDGE_MAC = '02:70:67:74:6c:01';

/** The `ip` / `nsenter` invocations that shape a node namespace; each is idempotent. */
export function nodeNetnsSteps(name: string): string[][] {
  const inNs = (...a: string[]) => ['ip', '-n', name, ...a];
  return [
    inNs('link', 'set', 'lo', 'up'),
    inNs('addr', 'replace', `${NODE_IP}/${POD_PREFIX}`, 'dev', BRIDGE),
    // A bridge takes the lowest MAC of its ports unless given one: when that pod went away, the node
    // address would move to another MAC and every pod's ARP entry for it (their default route) would
    // go stale for up to ~50 s. A set address stays.
    inNs('link', 'set', BRIDGE, 'address', BRIDGE_MAC),
    inNs('link', 'set', BRIDGE, 'up'),
    // /proc/sys/net belongs to the network namespace of the process writing it: this is the namespace's own switch.
    ['nsenter', `--net=${netnsFile(name)}`, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'],
  ];
}

/**
 * How ClusterIPs are routed inside the node namespace. With the gateway's
 * Service proxy: a local (AnyIP) route, so the gateway binds any ClusterIP
 * without an address per Service and receives what pods send there. Without
 * (kube-proxy in the namespace): an ordinary route over the bridge, so a
 * connection from inside the namespace has a route and reaches kube-proxy's
 * DNAT. Each list: first the route of the other mode goes (a failure there is
 * fine), then this mode's is put in place.
 */
export function serviceRouteSteps(netnsPath: string, serviceProxy: boolean): { args: string[]; mayFail: boolean }[] {
  const ip = (...a: string[]) => ['--net=' + netnsPath, 'ip', 'route', ...a];
  const local = ['local', SERVICE_CIDR, 'dev', 'lo'];
  const bridged = [SERVICE_CIDR, 'dev', BRIDGE, 'src', NODE_IP];
  return serviceProxy
    ? [
        { args: ip('del', SERVICE_CIDR, 'dev', BRIDGE), mayFail: true },
        { args: ip('replace', ...local), mayFail: false },
      ]
    : [
        { args: ip('del', ...local), mayFail: true },
        { args: ip('replace', ...bridged), mayFail: false },
      ];
}

export async function configureServiceRoute(netnsPath: string, serviceProxy: boolean): Promise<void> {
  for (const s of serviceRouteSteps(netnsPath, serviceProxy)) {
    if (s.mayFail) await run('nsenter', s.args);
    else await runOk('nsenter', s.args);
  }
}

/** True when /run/netns/<name> is a mounted namespace (a file alone is left over from a reboot). */
export function netnsMounted(name: string): boolean {
  const target = netnsFile(name);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[4] === target);
}

export async function listNetns(): Promise<string[]> {
  if (!existsSync(NETNS_DIR)) return [];
  return readdirSync(NETNS_DIR);
}

/** The node namespace of a cluster and the pod namespaces named after it (pgtls-<port>-<uid>). */
export function clusterNetnsNames(all: string[], apiserverPort: number): string[] {
  const node = nodeNetnsName(apiserverPort);
  return all.filter((n) => n === node || n.startsWith(`${node}-`));
}

async function ensureNetns(name: string): Promise<boolean> {
  if (existsSync(netnsFile(name)) && !netnsMounted(name)) unlinkSync(netnsFile(name));
  if (existsSync(netnsFile(name))) return false;
  await runOk('ip', ['netns', 'add', name]);
  return true;
}

/** Creates (or completes) the node namespace of a cluster; returns whether it was new. */
export async function ensureNodeNetns(name: string): Promise<boolean> {
  const created = await ensureNetns(name);
  if ((await run('ip', ['-n', name, 'link', 'show', 'dev', BRIDGE])).code !== 0) {
    await runOk('ip', ['-n', name, 'link', 'add', BRIDGE, 'type', 'bridge']);
  }
  for (const [cmd, ...args] of nodeNetnsSteps(name)) await runOk(cmd!, args);
  return created;
}

/** Inode of a namespace file, to find processes still inside it. */
function netnsInode(name: string): number | undefined {
  try {
    return statSync(netnsFile(name)).ino;
  } catch {
    return undefined;
  }
}

/** Pids whose network namespace is this inode (they keep it alive after its name is gone). */
export function netnsHolders(inode: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/net`) === `net:[${inode}]`) out.push(Number(d));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

export async function deleteNetns(name: string): Promise<{ holders: number[] }> {
  const inode = netnsInode(name);
  if (netnsMounted(name)) await runOk('ip', ['netns', 'delete', name]);
  else if (existsSync(netnsFile(name))) unlinkSync(netnsFile(name));
  return { holders: inode === undefined ? [] : netnsHolders(inode) };
}

/** `pgtls down`: the node namespace and every pod namespace of the cluster. */
export async function deleteClusterNetns(apiserverPort: number, log: (m: string) => void = () => {}): Promise<string[]> {
  const names = clusterNetnsNames(await listNetns(), apiserverPort);
  // Pods first: their veths hang on the node's bridge.
  names.sort((a, b) => b.length - a.length);
  for (const n of names) {
    const { holders } = await deleteNetns(n);
    if (holders.length > 0) log(`network namespace ${n} deleted, but pids ${holders.join(', ')} still run inside it (it lives until they exit)`);
  }
  return names;
}
