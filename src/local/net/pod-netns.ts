// A pod's network namespace on the node's bridge: a veth pair whose node end
// joins the bridge in the node namespace and whose pod end is `eth0` with the
// pod address, default route via the node address. The node runtime and the
// tests use the same steps, so both build the network the gateway expects.
import { BRIDGE, NODE_IP, POD_PREFIX } from './topology.ts';
import { deleteNetns, netnsFile, NetnsCommandError, netnsMounted, run } from './netns.ts';
import { existsSync, unlinkSync } from 'node:fs';

export interface PodNetwork {
  nodeNetns: string;
  podNetns: string;
  /** Node-side veth name (≤ 15 characters). */
  veth: string;
  ip: string;
}

/** The MAC of a pod's eth0: 0a:58 and the four bytes of its IPv4 address. */
export function podMac(ip: string): string {
  const bytes = ip.split('.').map(Number);
  if (bytes.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return ['0a', '58', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export function podNetnsSteps(p: PodNetwork): string[][] {
  if (p.veth.length > 15) throw new Error(`veth name ${p.veth} is longer than 15 characters`);
  const node = (...a: string[]) => ['ip', '-n', p.nodeNetns, ...a];
  const pod = (...a: string[]) => ['ip', '-n', p.podNetns, ...a];
  return [
    node('link', 'add', p.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.podNetns),
    node('link', 'set', p.veth, 'master', BRIDGE, 'up'),
    pod('link', 'set', 'lo', 'up'),
    // Addresses are reused as pods come and go (a StatefulSet's pod-0 often gets its old one back) and
    // the node and other pods keep ARP entries for up to ~50 s: a MAC derived from the address (as the
    // CNI bridge plugin's 0a:58 prefix) keeps those entries right for the new pod.
    pod('link', 'set', 'eth0', 'address', podMac(p.ip)),
    pod('addr', 'add', `${p.ip}/${POD_PREFIX}`, 'dev', 'eth0'),
    pod('link', 'set', 'eth0', 'up'),
    pod('route', 'add', 'default', 'via', NODE_IP, 'dev', 'eth0'),
  ];
}

/** Creates the pod namespace and plugs it in; any half-made namespace is removed on failure. */
export async function plugPodNetns(p: PodNetwork): Promise<void> {
  if (existsSync(netnsFile(p.podNetns)) && !netnsMounted(p.podNetns)) unlinkSync(netnsFile(p.podNetns));
  const add = await run('ip', ['netns', 'add', p.podNetns]);
  if (add.code !== 0) throw new NetnsCommandError(`ip netns add ${p.podNetns}: ${add.stderr.trim()}`);
  try {
    for (const [cmd, ...args] of podNetnsSteps(p)) {
      const r = await run(cmd!, args);
      if (r.code !== 0) throw new NetnsCommandError(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
    }
  } catch (err) {
    await deleteNetns(p.podNetns);
    throw err;
  }
}

/** Deleting the namespace destroys eth0 and with it the node end of the pair. */
export async function unplugPodNetns(podNetns: string): Promise<void> {
  await deleteNetns(podNetns);
}
