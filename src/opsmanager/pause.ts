// Pausing a database = a `Paused` status condition (KubeDB's pause,
// kubedb-api.md §5.5): the provisioner leaves a paused database to the ops
// request. Resuming removes it. Both are conditional on the version read, so a
// concurrent status writer is never overwritten; both are safe to repeat.
import { isConflict, type KubeClient, type ObjectRef } from '../kube/api.ts';
import { isConditionTrue, removeCondition, setCondition } from '../kube/conditions.ts';
import type { DbObject } from '../api/objects.ts';

const MAX_ATTEMPTS = 5;

/** Sets or removes Paused; returns true when it changed anything. */
export async function setPaused(kube: KubeClient, ref: ObjectRef, paused: boolean, by: string, now = new Date()): Promise<boolean> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const db = await kube.get<DbObject>(ref.apiVersion, ref.kind, ref.name, ref.namespace);
    if (!db) return false;
    if (isConditionTrue(db.status?.conditions, 'Paused') === paused) return false;
    const conditions = paused
      ? setCondition(db.status?.conditions, { type: 'Paused', status: 'True', reason: 'Paused', message: `paused by ${by}` }, now)
      : removeCondition(db.status?.conditions, 'Paused');
    try {
      await kube.patchStatus(ref, { conditions }, { resourceVersion: db.metadata.resourceVersion });
      return true;
    } catch (err) {
      if (!isConflict(err)) throw new Error(`${paused ? 'pausing' : 'resuming'} ${ref.kind} ${ref.namespace}/${ref.name}: ${String(err)}`, { cause: err });
    }
  }
  throw new Error(`could not ${paused ? 'pause' : 'resume'} ${ref.kind} ${ref.namespace}/${ref.name}: its status kept changing (${MAX_ATTEMPTS} attempts)`);
}
