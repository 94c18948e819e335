import { join } from 'node:path';
import type { Component } from '../component.ts';
import type { ClusterConfig } from '../config.ts';
import type { PkiFiles } from '../pki.ts';

export function buildKubeControllerManager(
  cfg: ClusterConfig,
  pki: PkiFiles,
  binary: string,
  kubeconfig: string,
  dataDir: string,
): Component {
  const { host, ports } = cfg;
  return {
    name: 'kube-controller-manager',
    binary,
    links: ['kube-apiserver'],
    ports: [ports.controllerManager],
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--bind-address=${host}`,
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${join(dataDir, 'kube-controller-manager')}`,
      `--root-ca-file=${pki.caCert}`,
      `--service-account-private-key-file=${pki.saKey}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      '--use-service-account-credentials=true',
      // EndpointSlices reject loopback pod IPs; pgtls's node agent routes Services itself.
      '--controllers=*,-endpointslice,-endpointslicemirroring,-nodeipam,-service-lb-controller,-cloud-node-lifecycle',
      `--service-cluster-ip-range=${cfg.serviceClusterIpRange}`,
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ],
    health: { url: `https://${host}:${ports.controllerManager}/healthz` },
  };
}
