// Resuming a database = removing its `Paused` status condition (kubedb-api.md
// §5.5). The ops-manager calls this at the end of a request; the webhook calls
// it too when a request's phase becomes Successful or Failed, so a database is
// resumed even if the ops-manager stopped mid-way (KubeDB's resumeDatabase).
import { isConflict, type KubeClient, type KubeObject } from '../kube/api.ts';
import { removeCondition, type Condition } from '../kube/conditions.ts';
import { OPS_TARGET, apiVersionOf, type OpsKind } from '../api/kinds.ts';
import { isOpsCompleted } from '../api/ops.kubedb.com/v1alpha1/ops-request.ts';

type WithConditions = { status?: { conditions?: { type: string }[]; phase?: string } };
const MAX_ATTEMPTS = 5;

/** Removes the Paused condition; returns true if one was removed. Safe to call repeatedly. */
export async function resumeDatabase(kube: KubeClient, opsKind: OpsKind, namespace: string, dbName: string): Promise<boolean> {
  const info = OPS_TARGET[opsKind];
  const ref = { apiVersion: apiVersionOf(info), kind: info.kind, name: dbName, namespace };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const db = await kube.get<KubeObject & { status?: { conditions?: Condition[] } }>(ref.apiVersion, ref.kind, dbName, namespace);
    if (!db?.status?.conditions?.some((c) => c.type === 'Paused')) return false;
    // Conditional on the version read, so a concurrent status writer is never overwritten.
    try {
      await kube.patchStatus(ref, { conditions: removeCondition(db.status.conditions, 'Paused') }, { resourceVersion: db.metadata?.resourceVersion });
      return true;
    } catch (err) {
      if (!isConflict(err)) throw new Error(`resuming ${info.kind} ${namespace}/${dbName}: ${String(err)}`, { cause: err });
    }
  }
  throw new Error(`could not remove the Paused condition of ${info.kind} ${namespace}/${dbName} after ${MAX_ATTEMPTS} attempts`);
}

/** True when an update moves an ops request into Successful or Failed. */
export function completesOps(oldObj: WithConditions | undefined, newObj: WithConditions | undefined): boolean {
  return !isOpsCompleted(oldObj?.status?.phase) && isOpsCompleted(newObj?.status?.phase);
}
