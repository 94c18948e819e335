import { join } from 'node:path';
import type { Component } from '../component.ts';
import type { ClusterConfig } from '../config.ts';
import type { PkiFiles } from '../pki.ts';
import { repoRoot } from '../../../util/repo.ts';
import { addressPlanFor, podNetwork, serviceNetwork } from '../../node/network.ts';
import { agentFlagsFromEnv } from '../../node/agent-flags.ts';

export const NODE_NAME = 'pgtls-node';

/** The kubelet port: next to the control plane's ports, which use base … base+5. */
export const kubeletPort = (cfg: ClusterConfig) => cfg.ports.apiserver + 10;

export function buildNodeAgent(cfg: ClusterConfig, pki: PkiFiles, dataDir: string, kubeconfig: string, provisionerKubeconfig: string): Component {
  const plan = addressPlanFor(cfg.ports.apiserver);
  const port = kubeletPort(cfg);
  return {
    name: 'node-agent',
    // Node runs the TypeScript CLI through bin/pgtls.mjs, which registers tsx itself.
    binary: process.execPath,
    links: ['kube-apiserver'],
    ports: [port],
    args: [
      join(repoRoot(), 'bin', 'pgtls.mjs'),
      'agent',
      `--kubeconfig=${kubeconfig}`,
      `--node-name=${NODE_NAME}`,
      `--state-dir=${join(dataDir, 'node', NODE_NAME)}`,
      `--port=${port}`,
      `--serving-cert=${pki.cert('node-agent-serving')}`,
      `--serving-key=${pki.key('node-agent-serving')}`,
      `--client-ca=${pki.caCert}`,
      `--pod-network=${podNetwork(plan)}`,
      `--service-network=${serviceNetwork(plan)}`,
      `--kubernetes-version=${cfg.versions.kubernetes}`,
      `--provisioner-kubeconfig=${provisionerKubeconfig}`,
      `--volumes-dir=${join(dataDir, 'volumes')}`,
      ...agentFlagsFromEnv(),
    ],
    health: {
      url: `https://${cfg.host}:${port}/healthz`,
      ca: pki.caCert,
      clientCert: pki.cert('apiserver-kubelet-client'),
      clientKey: pki.key('apiserver-kubelet-client'),
    },
  };
}
