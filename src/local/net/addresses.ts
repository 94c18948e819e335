// Pure address arithmetic for the gateway and the resolvers: which class an
// address belongs to (loopback, the pod or Service network, anything else),
// and which mirror plan a host-side client of a cluster uses.
import { addressPlanFor, hostMirror, inPodCidr, inServiceCidr, type AddressPlan } from './topology.ts';

/** The four octets of a dotted IPv4 address, or undefined for anything else. */
export function parseIPv4(ip: string): [number, number, number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const o = m.slice(1).map(Number) as [number, number, number, number];
  return o.every((n) => n <= 255) ? o : undefined;
}

export function isLoopbackIp(ip: string): boolean {
  const o = parseIPv4(ip);
  if (o) return o[0] === 127;
  return ip === '::1' || ip === '0:0:0:0:0:0:0:1';
}

/** An address that lives in the cluster network (pods, Services, the node): only reachable inside the node namespace. */
export function inClusterNetwork(ip: string): boolean {
  return parseIPv4(ip) !== undefined && (inPodCidr(ip) || inServiceCidr(ip));
}

/**
 * The mirror plan of the cluster behind an API server URL, for a client on
 * the host: pgtls clusters serve the API on loopback and derive their mirror
 * octets from its port. A server elsewhere (in-cluster config, a remote
 * cluster) has no mirrors: undefined.
 */
export function mirrorPlanForServer(server: string): AddressPlan | undefined {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || isLoopbackIp(host))) return undefined;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return addressPlanFor(port);
}

export type DialDecision = { host: string; port: number } | { refused: string };

/**
 * Where a client dials to reach `ip:port` of a cluster: loopback stays as is
 * (today's loopback pods); a pod or Service address is dialled directly from
 * inside the cluster network, through its loopback mirror from the host;
 * anything else from the host is refused rather than sent off the machine.
 */
export function dialDecision(ip: string, port: number, plan: AddressPlan | undefined): DialDecision {
  if (isLoopbackIp(ip)) return { host: ip, port };
  if (!plan) return { host: ip, port };
  const mirror = inClusterNetwork(ip) ? hostMirror(ip, plan) : undefined;
  if (mirror) return { host: mirror, port };
  return { refused: `${ip} is neither loopback nor in the cluster's pod or Service network; a host-side client never dials it` };
}
