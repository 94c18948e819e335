// How the operator reaches a pod it checks from the wire: in-cluster, its IP;
// next to a local pgtls cluster, its loopback mirror (src/local/net decides).
import type { KubeClient } from '../kube/api.ts';
import { podDialAddress } from '../local/net/pod-address.ts';

export function dialPod(kube: Pick<KubeClient, 'server'>, podIP: string, port: number): { host: string; port: number } {
  const server = kube.server;
  return podDialAddress({ kc: { getCurrentCluster: () => (server ? { server } : null) } }, podIP, port);
}
