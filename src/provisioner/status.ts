// Database status: KubeDB's condition types and PhaseFromConditionV1.
import { findCondition, type Condition } from '../kube/conditions.ts';

export const DB_CONDITIONS = {
  ProvisioningStarted: 'ProvisioningStarted',
  ReplicaReady: 'ReplicaReady',
  AcceptingConnection: 'AcceptingConnection',
  Ready: 'Ready',
  Provisioned: 'Provisioned',
  Paused: 'Paused',
  Halted: 'Halted',
  HealthCheckPaused: 'HealthCheckPaused',
} as const;

const is = (conds: Condition[], type: string, status: string) => findCondition(conds, type)?.status === status;

/** kubedb apimachinery pkg/phase PhaseFromConditionV1, in its order. Paused does not change the phase. */
export function phaseFromConditions(conds: Condition[] = []): string {
  if (is(conds, DB_CONDITIONS.HealthCheckPaused, 'True')) return 'Unknown';
  let phase = '';
  if (is(conds, DB_CONDITIONS.ProvisioningStarted, 'True')) phase = 'Provisioning';
  if (is(conds, DB_CONDITIONS.Halted, 'True')) return 'Halted';
  const provisioned = is(conds, DB_CONDITIONS.Provisioned, 'True');
  if (is(conds, DB_CONDITIONS.AcceptingConnection, 'False') && provisioned) return 'NotReady';
  if (is(conds, DB_CONDITIONS.ReplicaReady, 'False') && provisioned) return 'Critical';
  if (is(conds, DB_CONDITIONS.Ready, 'False') && provisioned) return 'Critical';
  if (is(conds, DB_CONDITIONS.Ready, 'True') && provisioned) return 'Ready';
  return phase;
}
