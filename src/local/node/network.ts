// Addresses and names for pods: the per-cluster loopback networks (pods on
// 127.P.x.y when they share the host's network; the gateway's mirrors of pod
// IPs and ClusterIPs otherwise, src/local/net), pod address allocation, and
// what cluster DNS would answer, written into each pod's /etc/hosts. The two
// octets P and S are per cluster, so two local clusters never share an address.
import type { V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';

export interface AddressPlan {
  podOctet: number;
  serviceOctet: number;
}

/** Derives the octets from the API server port, which is unique per cluster on a machine. */
export function addressPlanFor(apiserverPort: number): AddressPlan {
  const idx = Math.floor(apiserverPort / 100) % 110;
  return { podOctet: 10 + 2 * idx, serviceOctet: 11 + 2 * idx };
}

export const podNetwork = (p: AddressPlan) => `127.${p.podOctet}.0.0/16`;
export const serviceNetwork = (p: AddressPlan) => `127.${p.serviceOctet}.0.0/16`;

export function parseNetwork(cidr: string): number {
  const m = /^127\.(\d+)\.0\.0\/16$/.exec(cidr);
  if (!m) throw new Error(`not a 127.N.0.0/16 network: ${cidr}`);
  return Number(m[1]);
}

/** The loopback address serving a Service's ClusterIP (same last two octets). */
export function serviceVip(clusterIP: string | undefined, serviceOctet: number): string | undefined {
  if (!clusterIP || clusterIP === 'None') return undefined;
  const parts = clusterIP.split('.');
  if (parts.length !== 4) return undefined;
  return `127.${serviceOctet}.${parts[2]}.${parts[3]}`;
}

export const isLoopback = (ip: string) => /^127\.\d+\.\d+\.\d+$/.test(ip) || ip === '::1';

/** Pod addresses from a /16 (`prefix` is its first two octets). */
export class IpAllocator {
  private readonly used = new Map<string, string>(); // ip -> uid
  constructor(private readonly prefix: string) {}

  claim(uid: string, ip: string): boolean {
    const owner = this.used.get(ip);
    if (owner && owner !== uid) return false;
    this.used.set(ip, uid);
    return true;
  }

  allocate(uid: string): string {
    for (const [ip, owner] of this.used) if (owner === uid) return ip;
    // .0.0, .0.1 (the node) and .x.0/.x.255 are skipped to keep addresses unsurprising.
    for (let n = 2; n < 65534; n++) {
      const ip = `${this.prefix}.${n >> 8}.${n & 255}`;
      if ((n & 255) === 0 || (n & 255) === 255) continue;
      if (!this.used.has(ip)) {
        this.used.set(ip, uid);
        return ip;
      }
    }
    throw new Error('pod network exhausted');
  }

  release(uid: string): void {
    for (const [ip, owner] of this.used) if (owner === uid) this.used.delete(ip);
  }
}

export const CLUSTER_DOMAIN = 'cluster.local';

export function podReady(p: V1Pod): boolean {
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function selects(svc: V1Service, pod: V1Pod): boolean {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return false;
  if (pod.metadata?.namespace !== svc.metadata?.namespace) return false;
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** The pod's /etc/hosts: what cluster DNS would answer, for its namespace. */
export function hostsFile(pod: V1Pod, podIP: string, services: V1Service[], pods: V1Pod[], serviceAddress: (svc: V1Service) => string | undefined): string {
  const ns = pod.metadata!.namespace!;
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  const hostname = pod.spec?.hostname ?? pod.metadata!.name!;
  const sub = pod.spec?.subdomain;
  const own = [hostname];
  if (sub) own.unshift(`${hostname}.${sub}.${ns}.svc.${CLUSTER_DOMAIN}`);
  lines.push(`${podIP}\t${own.join(' ')}`);
  const names = (base: string, svcNs: string) => {
    const n = [`${base}.${svcNs}.svc.${CLUSTER_DOMAIN}`, `${base}.${svcNs}.svc`, `${base}.${svcNs}`];
    if (svcNs === ns) n.push(base);
    return n.join(' ');
  };
  for (const svc of services) {
    const name = svc.metadata!.name!;
    const svcNs = svc.metadata!.namespace!;
    const vip = serviceAddress(svc);
    if (vip) {
      lines.push(`${vip}\t${names(name, svcNs)}`);
      continue;
    }
    if (svc.spec?.clusterIP !== 'None') continue;
    // Headless: the Service name lists its (ready) pods, and each pod that
    // names this Service as its subdomain gets <hostname>.<svc> records.
    for (const p of pods) {
      const ip = p.status?.podIP;
      if (!ip || !selects(svc, p)) continue;
      if (svc.spec?.publishNotReadyAddresses || podReady(p)) lines.push(`${ip}\t${names(name, svcNs)}`);
      if (p.spec?.subdomain === name) lines.push(`${ip}\t${names(`${p.spec?.hostname ?? p.metadata!.name!}.${name}`, svcNs)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function resolvConf(ns: string): string {
  // Every cluster name is in /etc/hosts; no query ever leaves the pod (nothing answers on its 127.0.0.1:53).
  return `search ${ns}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}\nnameserver 127.0.0.1\noptions ndots:5 attempts:1 timeout:1\n`;
}

/** A Service port's target on a pod: a number, or a named container port. */
export function targetPort(sp: V1ServicePort, pod: V1Pod): number | undefined {
  const t = sp.targetPort ?? sp.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(String(t))) return Number(t);
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === t) return p.containerPort;
  return undefined;
}
