// KubeDB's ops-request queueing (UpdateOpsPhaseProgressing + the Skipper):
// one Progressing request per database; among Pending requests of the same
// type only the newest runs, the rest become Skipped (also when the newest
// got to run first); across types the oldest runs first.

export interface OpSummary {
  name: string;
  namespace: string;
  type: string;
  phase: string | undefined;
  creationTimestamp: string;
}

export type QueueDecision =
  | { action: 'run' }
  | { action: 'wait'; reason: string }
  | { action: 'skip'; message: string };

const pending = (p: string | undefined) => p === undefined || p === '' || p === 'Pending';

/** Newer: later creation time, then the lexicographically larger name (KubeDB's tie-break). */
export function isNewer(a: OpSummary, b: OpSummary): boolean {
  const ta = Date.parse(a.creationTimestamp);
  const tb = Date.parse(b.creationTimestamp);
  return ta !== tb ? ta > tb : a.name > b.name;
}

/**
 * What to do with `op` (Pending), given every request of the same kind for the
 * same database, `op` included.
 */
export function decide(op: OpSummary, siblings: OpSummary[], kind: string): QueueDecision {
  const others = siblings.filter((s) => s.name !== op.name);
  const progressing = others.find((s) => s.phase === 'Progressing');
  if (progressing) return { action: 'wait', reason: `${op.namespace}/${progressing.name} is Progressing` };
  // A newer request of the same type supersedes this one whether it still waits,
  // or already ran (it was admitted while this one waited its turn).
  const newest = others
    .filter((s) => (pending(s.phase) || s.phase === 'Successful') && s.type === op.type && isNewer(s, op))
    .sort((a, b) => (isNewer(a, b) ? -1 : 1))[0];
  if (newest) {
    return {
      action: 'skip',
      message: `skipped as ${newest.namespace}/${newest.name} is the most updated ${kind} of type ${newest.type} at ${newest.creationTimestamp}`,
    };
  }
  // Across types, the oldest request that will itself run goes first.
  const runnable = others.filter(
    (s) => pending(s.phase) && s.type !== op.type && !others.some((o) => o !== s && pending(o.phase) && o.type === s.type && isNewer(o, s)),
  );
  const older = runnable.find((s) => isNewer(op, s));
  if (older) return { action: 'wait', reason: `${op.namespace}/${older.name} (${older.type}) is older` };
  return { action: 'run' };
}
