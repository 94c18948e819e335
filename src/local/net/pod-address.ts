// How the operator dials a pod it checks from the wire. Run in-cluster, it
// dials the pod IP itself; run on the host next to a local pgtls cluster (its
// API server on loopback), it dials the pod's loopback mirror, so no packet
// for a cluster address ever leaves the host's loopback (the network rule).
import { dialDecision, mirrorPlanForServer } from './addresses.ts';

/** Anything that knows its API server: the operator's Kube (client-node's KubeConfig inside). */
export interface KnowsServer {
  kc?: { getCurrentCluster(): { server: string } | null };
}

export class PodAddressError extends Error {}

export function podDialAddress(kube: KnowsServer, podIP: string, port: number): { host: string; port: number } {
  const server = kube.kc?.getCurrentCluster()?.server;
  const d = dialDecision(podIP, port, server ? mirrorPlanForServer(server) : undefined);
  if ('refused' in d) throw new PodAddressError(d.refused);
  return d;
}
