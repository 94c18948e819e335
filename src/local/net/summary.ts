// One line for `pgtls status`: where the cluster's network lives.
import { addressPlanFor, nodeNetnsName, NODE_IP } from './topology.ts';
import { egressSocketPath } from './egress-config.ts';

export function networkSummary(apiserverPort: number, layout: { home: string }): string {
  const plan = addressPlanFor(apiserverPort);
  return (
    `namespace ${nodeNetnsName(apiserverPort)} (node ${NODE_IP}), egress ${egressSocketPath(layout)}, ` +
    `mirrors 127.${plan.podOctet}.0.0/16 (pods) 127.${plan.serviceOctet}.0.0/16 (Services)`
  );
}
