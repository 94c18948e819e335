// Resuming a database = removing its `Paused` status condition (kubedb-api.md
// §5.5). The ops-manager calls this at the end of a request; the webhook calls
// it too when a request's phase becomes Successful or Failed, so a database is
// resumed even if the ops-manager stopped mid-way (KubeDB's resumeDatabase).
import { k8s, isNotFound, statusCode, type Kube } from '../kube/client.ts';
import { OPS_TARGET, type OpsKind } from '../api/kinds.ts';
import { isOpsCompleted } from '../api/ops.kubedb.com/v1alpha1/ops-request.ts';

type WithConditions = { status?: { conditions?: { type: string }[]; phase?: string } };
const MAX_ATTEMPTS = 5;

/** Removes the Paused condition; returns true if one was removed. Safe to call repeatedly. */
export async function resumeDatabase(kube: Kube, opsKind: OpsKind, namespace: string, dbName: string): Promise<boolean> {
  const info = OPS_TARGET[opsKind];
  const custom = kube.api(k8s.CustomObjectsApi);
  const ref = { group: info.group, version: info.version, namespace, plural: info.plural, name: dbName };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let db: WithConditions;
    try {
      db = (await custom.getNamespacedCustomObject(ref)) as WithConditions;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    const i = db.status?.conditions?.findIndex((c) => c.type === 'Paused') ?? -1;
    if (i < 0) return false;
    // The test op makes the removal safe against a concurrent status writer.
    const body = [{ op: 'test', path: `/status/conditions/${i}/type`, value: 'Paused' }, { op: 'remove', path: `/status/conditions/${i}` }];
    try {
      await custom.patchNamespacedCustomObjectStatus({ ...ref, body }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch));
      return true;
    } catch (err) {
      if (statusCode(err) !== 422 && statusCode(err) !== 409) throw err;
    }
  }
  throw new Error(`could not remove the Paused condition of ${info.kind} ${namespace}/${dbName} after ${MAX_ATTEMPTS} attempts`);
}

/** True when an update moves an ops request into Successful or Failed. */
export function completesOps(oldObj: WithConditions | undefined, newObj: WithConditions | undefined): boolean {
  return !isOpsCompleted(oldObj?.status?.phase) && isOpsCompleted(newObj?.status?.phase);
}
