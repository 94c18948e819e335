import type { Component } from '../component.ts';
import type { ClusterConfig } from '../config.ts';

export function buildKubeScheduler(cfg: ClusterConfig, binary: string, kubeconfig: string): Component {
  const { host, ports } = cfg;
  return {
    name: 'kube-scheduler',
    binary,
    links: ['kube-apiserver'],
    ports: [ports.scheduler],
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--bind-address=${host}`,
      `--secure-port=${ports.scheduler}`,
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ],
    health: { url: `https://${host}:${ports.scheduler}/healthz` },
  };
}
