// The shape of a local cluster's network, shared by the node runtime (which
// puts pods on it) and the gateway (which connects it to the host). Every
// address here that is not loopback lives only inside network namespaces
// pgtls creates: the host never routes to them (the network rule).
import { addressPlanFor, type AddressPlan } from '../node/network.ts';

/** The node's network namespace: one per cluster, named after its API server port. */
export const nodeNetnsName = (apiserverPort: number) => `pgtls-${apiserverPort}`;
/** A pod's network namespace (uid shortened: /run/netns names are files, veth names have 15 chars). */
export const podNetnsName = (apiserverPort: number, podUid: string) => `pgtls-${apiserverPort}-${podUid.replace(/-/g, '').slice(0, 12)}`;
/** The pod-side and node-side veth names of a pod (≤ 15 characters). */
export const podVethNames = (podUid: string) => ({ node: `vp${podUid.replace(/-/g, '').slice(0, 12)}`, pod: 'eth0' });

export const BRIDGE = 'pgtls0';
/** The node's own address on the bridge: the pods' default gateway and the Node's InternalIP inside the namespace. */
export const NODE_IP = '10.244.0.1';
export const POD_CIDR = '10.244.0.0/16';
export const POD_PREFIX = 16;
/** kube-apiserver --service-cluster-ip-range (a /16, so it maps 1:1 onto a loopback /16); the first address is the `kubernetes` Service. */
export const SERVICE_CIDR = '10.96.0.0/16';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

export function inPodCidr(ip: string): boolean {
  return /^10\.244\.\d{1,3}\.\d{1,3}$/.test(ip);
}

export function inServiceCidr(ip: string): boolean {
  return /^10\.96\.\d{1,3}\.\d{1,3}$/.test(ip);
}

/** The loopback address on the host that mirrors a pod IP or ClusterIP of this cluster (same last two octets). */
export function hostMirror(ip: string, plan: AddressPlan): string | undefined {
  const p = ip.split('.');
  if (p.length !== 4) return undefined;
  if (inPodCidr(ip)) return `127.${plan.podOctet}.${p[2]}.${p[3]}`;
  if (inServiceCidr(ip)) return `127.${plan.serviceOctet}.${p[2]}.${p[3]}`;
  return undefined;
}

export { addressPlanFor };
export type { AddressPlan };
