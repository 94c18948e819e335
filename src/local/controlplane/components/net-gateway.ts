import { join } from 'node:path';
import type { Component } from '../component.ts';
import type { ClusterConfig } from '../config.ts';
import type { HomeLayout } from '../../home.ts';
import { repoRoot } from '../../../util/repo.ts';
import { addressPlanFor, podNetwork, serviceNetwork } from '../../node/network.ts';
import { nodeNetnsName } from '../../net/topology.ts';
import { egressSocketPath } from '../../net/egress-config.ts';

export { egressSocketPath };

export const NET_GATEWAY = 'net-gateway';

/** kube-apiserver --egress-selector-config-file. */
export const egressConfigPath = (layout: Pick<HomeLayout, 'home'>) => join(layout.home, 'egress-selector.yaml');

export interface NetGatewayOptions {
  /** Serve Service ClusterIPs inside the node namespace (default); off when kube-proxy runs there. */
  serviceProxy?: boolean;
}

/**
 * The gateway between the host and the node namespace: egress for the API
 * server, Services inside the namespace, loopback mirrors on the host. Ready
 * when its worker runs in the namespace and its watches have synced.
 */
export function buildNetGateway(cfg: ClusterConfig, layout: Pick<HomeLayout, 'home'>, kubeconfig: string, opts: NetGatewayOptions = {}): Component {
  const plan = addressPlanFor(cfg.ports.apiserver);
  const socket = egressSocketPath(layout);
  return {
    name: NET_GATEWAY,
    binary: process.execPath,
    links: ['kube-apiserver'],
    ports: [],
    args: [
      join(repoRoot(), 'bin', 'pgtls.mjs'),
      'gateway',
      `--kubeconfig=${kubeconfig}`,
      `--netns=${nodeNetnsName(cfg.ports.apiserver)}`,
      `--egress-socket=${socket}`,
      `--pod-mirror-network=${podNetwork(plan)}`,
      `--service-mirror-network=${serviceNetwork(plan)}`,
      ...(opts.serviceProxy === false ? ['--no-service-proxy'] : []),
    ],
    health: { url: 'http://gateway/healthz', socketPath: socket },
  };
}
