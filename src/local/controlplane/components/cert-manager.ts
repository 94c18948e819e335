import type { Component } from '../component.ts';
import type { ClusterConfig } from '../config.ts';

export const CERT_MANAGER_NAMESPACE = 'cert-manager';
/** The Lease cert-manager's controller holds once its controllers run. */
export const CERT_MANAGER_LEASE = { namespace: 'kube-system', name: 'cert-manager-controller' };

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
      '--v=1',
    ],
    // v1.11 has no health endpoint; metrics answer once the process is serving.
    health: { url: `http://${host}:${ports.certManagerMetrics}/metrics` },
  };
}
