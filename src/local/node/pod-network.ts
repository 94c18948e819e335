// A pod's network, two ways behind one interface:
//  - netns: each pod gets its own network namespace with `lo` and a veth
//    (`eth0`) on the node namespace's bridge, an address from the pod CIDR and
//    a default route via the node address, as a CNI bridge plugin does. Pods
//    listen on `*`, `localhost` inside a pod is the pod's own. The agent
//    reaches into a pod only through processes entered into its namespace.
//  - loopback: pods share the host's network and get a 127.P.x.y address each
//    (the node's first design; also what a non-root agent can do).
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { V1Service } from '@kubernetes/client-node';
import { BRIDGE, NODE_IP, POD_PREFIX, inPodCidr, nodeNetnsName, podNetnsName, podVethNames } from '../net/topology.ts';
import { listNetns, netnsMounted } from '../net/netns.ts';
import { plugPodNetns, unplugPodNetns } from '../net/pod-netns.ts';
import { IpAllocator, isLoopback, serviceVip, type AddressPlan } from './network.ts';
import { dialInNetns } from './netns-dial.ts';

export interface PodNetwork {
  readonly mode: 'loopback' | 'netns';
  /** The node's address as pods see it (status.hostIP). */
  readonly hostIP: string;
  /** Sets the pod's network up (idempotent; keeps `previousIp` when it is still free) and returns its address. */
  setUp(uid: string, previousIp?: string): Promise<string>;
  /** Removes the pod's network and frees its address. */
  tearDown(uid: string): Promise<void>;
  /** The pod's network namespace, for nsenter --net; undefined when pods share the host's. */
  netnsPath(uid: string): string | undefined;
  /** A TCP connection to host:port as made from inside the pod (probes, port-forward). */
  dial(uid: string, host: string, port: number, timeoutMs: number): Duplex;
  /** The address a Service has for pods (its ClusterIP, or its loopback stand-in). */
  serviceAddress(svc: V1Service): string | undefined;
  /** Removes networks of pods that no longer exist on this node (after an agent restart). */
  pruneExcept(uids: Set<string>): Promise<void>;
}

export class LoopbackNetwork implements PodNetwork {
  readonly mode = 'loopback' as const;
  readonly hostIP = '127.0.0.1';
  private readonly ips: IpAllocator;
  constructor(private readonly plan: AddressPlan) {
    this.ips = new IpAllocator(`127.${plan.podOctet}`);
  }
  async setUp(uid: string, previousIp?: string): Promise<string> {
    if (previousIp && isLoopback(previousIp) && this.ips.claim(uid, previousIp)) return previousIp;
    return this.ips.allocate(uid);
  }
  async tearDown(uid: string): Promise<void> {
    this.ips.release(uid);
  }
  netnsPath(): undefined {
    return undefined;
  }
  dial(_uid: string, host: string, port: number): Duplex {
    if (!isLoopback(host)) throw new Error(`refusing to dial non-loopback ${host}`);
    return connect({ host, port });
  }
  serviceAddress(svc: V1Service): string | undefined {
    return serviceVip(svc.spec?.clusterIP, this.plan.serviceOctet);
  }
  async pruneExcept(): Promise<void> {}
}

/** `ip` with its output, for checks (changes go through src/local/net/pod-netns.ts). */
function ipOut(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/usr/sbin/ip', args, { timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`ip ${args.join(' ')}: ${String(stderr).trim() || err.message}`)) : resolve(String(stdout))));
  });
}

export class NamespaceNetwork implements PodNetwork {
  readonly mode = 'netns' as const;
  readonly hostIP = NODE_IP;
  private readonly ips = new IpAllocator('10.244');
  readonly nodeNs: string;
  constructor(private readonly apiserverPort: number) {
    this.nodeNs = nodeNetnsName(apiserverPort);
  }

  /** The node namespace and its bridge come from `pgtls up` (src/local/net); the agent only plugs pods in. */
  nodeExists(): boolean {
    return existsSync(`/run/netns/${this.nodeNs}`);
  }

  checkNode(): void {
    if (!this.nodeExists()) throw new Error(`the node network namespace ${this.nodeNs} does not exist (pgtls up creates it with the bridge ${BRIDGE})`);
  }

  private nsName(uid: string) {
    return podNetnsName(this.apiserverPort, uid);
  }

  netnsPath(uid: string): string {
    return `/run/netns/${this.nsName(uid)}`;
  }

  async setUp(uid: string, previousIp?: string): Promise<string> {
    const ip = previousIp && inPodCidr(previousIp) && this.ips.claim(uid, previousIp) ? previousIp : this.ips.allocate(uid);
    const ns = this.nsName(uid);
    const veth = podVethNames(uid);
    try {
      if (netnsMounted(ns)) {
        // Already plugged in (an agent restarted next to running pods): leave it as it is.
        const addr = await ipOut(['-n', ns, '-o', '-4', 'addr', 'show', 'dev', veth.pod]).catch(() => '');
        const peer = await ipOut(['-n', this.nodeNs, '-o', 'link', 'show', 'dev', veth.node]).catch(() => '');
        if (addr.includes(` ${ip}/${POD_PREFIX} `) && peer.includes(`master ${BRIDGE}`)) return ip;
        // Half there (an agent killed mid-setup): made again, whole.
        await unplugPodNetns(ns);
      }
      // The same steps the gateway's tests use (src/local/net/pod-netns.ts), so the network is the one it expects.
      await plugPodNetns({ nodeNetns: this.nodeNs, podNetns: ns, veth: veth.node, ip });
    } catch (err) {
      this.ips.release(uid);
      throw new Error(`pod ${uid}: setting up network namespace ${ns} (${ip}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return ip;
  }

  async tearDown(uid: string): Promise<void> {
    this.ips.release(uid);
    await unplugPodNetns(this.nsName(uid));
  }

  dial(uid: string, host: string, port: number, timeoutMs: number): Duplex {
    return dialInNetns(this.netnsPath(uid), host, port, timeoutMs);
  }

  serviceAddress(svc: V1Service): string | undefined {
    const ip = svc.spec?.clusterIP;
    return ip && ip !== 'None' ? ip : undefined;
  }

  async pruneExcept(uids: Set<string>): Promise<void> {
    const keep = new Set([...uids].map((u) => this.nsName(u)));
    const prefix = `${this.nodeNs}-`;
    for (const name of await listNetns()) if (name.startsWith(prefix) && !keep.has(name)) await unplugPodNetns(name);
  }
}
