// What the API server's egress may reach, decided from the CONNECT target
// alone: loopback on the host (the node agent's kubelet API, webhooks
// registered by URL), the pod and Service networks inside the node
// namespace, nothing else (the network rule). Pure, so it is unit-tested.
import { inClusterNetwork, isLoopbackIp, parseIPv4 } from './addresses.ts';
import { POD_CIDR, SERVICE_CIDR } from './topology.ts';

export interface ConnectTarget {
  host: string;
  port: number;
}

export type EgressRoute =
  | { via: 'host'; host: string; port: number }
  | { via: 'netns'; host: string; port: number }
  | { via: 'refuse'; reason: string };

/** Parses a CONNECT request-target (`host:port`, `[v6]:port`); throws with the reason. */
export function parseConnectTarget(authority: string): ConnectTarget {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/@]+)):(\d{1,5})$/.exec(authority);
  if (!m) throw new Error(`CONNECT target must be host:port or [ipv6]:port, got ${JSON.stringify(authority.slice(0, 100))}`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`CONNECT port must be 1-65535, got ${m[3]}`);
  return { host: (m[1] ?? m[2]!).toLowerCase(), port };
}

export function egressRoute(t: ConnectTarget): EgressRoute {
  // Names are not resolved: a resolver could answer anything. `localhost` is the one name the API server may use.
  const host = t.host === 'localhost' ? '127.0.0.1' : t.host;
  if (isLoopbackIp(host)) return { via: 'host', host, port: t.port };
  if (inClusterNetwork(host)) return { via: 'netns', host, port: t.port };
  const what = parseIPv4(host) || host.includes(':') ? 'address' : 'host name';
  return {
    via: 'refuse',
    reason: `${what} ${t.host} is not loopback and not in the pod network ${POD_CIDR} or the Service network ${SERVICE_CIDR}`,
  };
}
