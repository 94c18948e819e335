// The webhook resumes a database when its ops request's phase becomes
// Successful or Failed, so a database is resumed even if the ops-manager
// stopped mid-way (KubeDB's resumeDatabase). The ops-manager resumes it too.
import type { KubeClient } from '../kube/api.ts';
import { OPS_TARGET, apiVersionOf, type OpsKind } from '../api/kinds.ts';
import { isOpsCompleted } from '../api/ops.kubedb.com/v1alpha1/ops-request.ts';
import { setPaused } from '../opsmanager/pause.ts';

type WithPhase = { status?: { phase?: string } };

/** Removes the Paused condition; returns true if one was removed. Safe to call repeatedly. */
export function resumeDatabase(kube: KubeClient, opsKind: OpsKind, namespace: string, dbName: string): Promise<boolean> {
  const info = OPS_TARGET[opsKind];
  return setPaused(kube, { apiVersion: apiVersionOf(info), kind: info.kind, name: dbName, namespace }, false, opsKind);
}

/** True when an update moves an ops request into Successful or Failed. */
export function completesOps(oldObj: WithPhase | undefined, newObj: WithPhase | undefined): boolean {
  return !isOpsCompleted(oldObj?.status?.phase) && isOpsCompleted(newObj?.status?.phase);
}
