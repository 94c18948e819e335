// A database Paused by an ops request that no longer runs (deleted, or ended
// while the operator was down between two writes) would stay paused forever:
// the provisioner leaves paused databases alone. This finds such a pause and
// clears it, with an Event. Race-free against a request that pauses meanwhile:
// the database is read first, the ops requests listed after, and Paused is
// removed only if the database has not changed since it was read.
import { isConflict, type KubeClient } from '../kube/api.ts';
import { isConditionTrue, removeCondition } from '../kube/conditions.ts';
import type { DbObject, OpsObject } from '../api/objects.ts';
import type { KindInfo } from '../kinds/info.ts';
import type { EventRecorder } from '../kube/events.ts';

/** Whether an ops request may hold its database paused: it has started and not ended, and is not being deleted. */
export function holdsPause(op: Pick<OpsObject, 'metadata' | 'status'>): boolean {
  return op.status?.phase === 'Progressing' && !op.metadata.deletionTimestamp;
}

/** Decides from what was read: the live requests that hold `dbName`, or none. Pure. */
export function pauseHolders(ops: Pick<OpsObject, 'metadata' | 'status' | 'spec'>[], dbName: string): string[] {
  return ops.filter((o) => o.spec.databaseRef?.name === dbName && holdsPause(o)).map((o) => o.metadata.name!);
}

/**
 * Clears Paused on `dbName` when no live ops request of the kind holds it.
 * Returns true when it cleared one.
 */
export async function releaseOrphanPause(
  ctx: { kube: KubeClient; events: EventRecorder },
  info: KindInfo,
  namespace: string,
  dbName: string,
  cached?: (namespace: string) => readonly Pick<OpsObject, 'metadata' | 'status' | 'spec'>[],
): Promise<boolean> {
  // A holder in the watch cache is enough to leave the pause alone (a request
  // that ended since is seen on a later pass). Only when the cache shows none is
  // the namespace's list read: during a wave of requests the provisioner passed
  // by every paused database and listed all requests each time (N² at scale).
  if (cached && pauseHolders([...cached(namespace)], dbName).length > 0) return false;
  const db = await ctx.kube.get<DbObject>(info.apiVersion, info.kind, dbName, namespace);
  if (!db || !isConditionTrue(db.status?.conditions, 'Paused')) return false;
  const ops = await ctx.kube.list<OpsObject>('ops.kubedb.com/v1alpha1', info.opsKind, { namespace });
  if (pauseHolders(ops, dbName).length > 0) return false;
  try {
    await ctx.kube.patchStatus(
      { apiVersion: info.apiVersion, kind: info.kind, name: dbName, namespace },
      { conditions: removeCondition(db.status?.conditions, 'Paused') },
      { resourceVersion: db.metadata.resourceVersion },
    );
  } catch (err) {
    // Changed since read (an ops request may have paused it): decide again next time.
    if (isConflict(err)) return false;
    throw err;
  }
  await ctx.events.record(
    { apiVersion: info.apiVersion, kind: info.kind, metadata: db.metadata },
    'Warning',
    'ResumedOrphanPause',
    `${info.kind} ${namespace}/${dbName} was Paused but no ${info.opsKind} is in progress for it; resumed`,
  );
  return true;
}
