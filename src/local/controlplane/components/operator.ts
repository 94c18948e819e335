import { join } from 'node:path';
import type { Component } from '../component.ts';
import type { ClusterConfig } from '../config.ts';
import { repoRoot } from '../../../util/repo.ts';
import { OPERATOR_MALLOC_ENV, OPERATOR_NODE_FLAGS } from '../../../install/operator-image.ts';

export const OPERATOR_NAMESPACE = 'pgtls-system';

/** Next to the kubelet port (base+10): the webhook on base+11, the health endpoint on base+12. */
export const operatorPorts = (cfg: ClusterConfig) => ({ webhook: cfg.ports.apiserver + 11, health: cfg.ports.apiserver + 12 });

/**
 * The operator as a supervised process, like the node agent: Node runs the
 * TypeScript CLI through bin/pgtls.mjs. It is ready when it leads and the API
 * server calls its webhook (/readyz?leader=true).
 */
export function buildOperator(cfg: ClusterConfig, dataDir: string, kubeconfig: string, webhookClient?: { caFile: string; name: string }): Component {
  const ports = operatorPorts(cfg);
  return {
    name: 'operator',
    binary: process.execPath,
    links: ['kube-apiserver', 'cert-manager', 'node-agent'],
    ports: [ports.webhook, ports.health],
    args: [
      ...OPERATOR_NODE_FLAGS,
      join(repoRoot(), 'bin', 'pgtls.mjs'),
      'operator',
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${OPERATOR_NAMESPACE}`,
      `--webhook-host=${cfg.host}`,
      `--webhook-port=${ports.webhook}`,
      `--health-port=${ports.health}`,
      `--cert-dir=${join(dataDir, 'operator', 'webhook')}`,
      // Reviews only from the API server's webhook client certificate.
      ...(webhookClient ? [`--webhook-client-ca=${webhookClient.caFile}`, `--webhook-client-name=${webhookClient.name}`] : []),
    ],
    health: { url: `http://${cfg.host}:${ports.health}/readyz?leader=true` },
    // PGTLS_RUN_DIST=1 on `up` runs the compiled operator (dist/, as in its image) rather than tsx.
    env: { ...OPERATOR_MALLOC_ENV, ...(process.env.PGTLS_RUN_DIST === '1' ? { PGTLS_RUN_DIST: '1' } : {}) },
  };
}
