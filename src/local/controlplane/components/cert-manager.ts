import type { Component } from '../component.ts';
import type { ClusterConfig } from '../config.ts';

export const CERT_MANAGER_NAMESPACE = 'cert-manager';
/** The Lease cert-manager's controller holds once its controllers run. */
export const CERT_MANAGER_LEASE = { namespace: 'kube-system', name: 'cert-manager-controller' };

/** cert-manager's client rate limit on the local cluster (its default: 20/s). */
export const CERT_MANAGER_API_QPS = 200;

export function buildCertManager(cfg: ClusterConfig, binary: string, kubeconfig: string): Component {
  const { host, ports } = cfg;
  return {
    name: 'cert-manager',
    binary,
    links: ['kube-apiserver'],
    ports: [ports.certManagerMetrics],
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--cluster-resource-namespace=${CERT_MANAGER_NAMESPACE}`,
      `--leader-election-namespace=${CERT_MANAGER_LEASE.namespace}`,
      `--metrics-listen-address=${host}:${ports.certManagerMetrics}`,
      '--enable-profiling=false',
      // Its client's default rate limit (20 requests/s, burst 50) is what bounds a
      // mass renewal: each certificate costs ~10 API writes, so 300 at once waited
      // ~150 s on the limiter alone (README, Scale). The API server is local.
      `--kube-api-qps=${CERT_MANAGER_API_QPS}`,
      `--kube-api-burst=${CERT_MANAGER_API_QPS * 2}`,
      '--v=1',
    ],
    // v1.11 has no health endpoint; metrics answer once the process is serving.
    health: { url: `http://${host}:${ports.certManagerMetrics}/metrics` },
  };
}
