// Status conditions with kmodules' SetCondition semantics (KubeDB's): replace
// by type, and move lastTransitionTime only when status, reason, message or
// observedGeneration change.

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
  severity?: string;
  lastTransitionTime?: string;
}

export function findCondition(conds: Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

export function isConditionTrue(conds: Condition[] | undefined, type: string): boolean {
  return findCondition(conds, type)?.status === 'True';
}

/** Returns a new list; the input is not modified. */
export function setCondition(conds: Condition[] | undefined, next: Condition, now = new Date()): Condition[] {
  const list = [...(conds ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const old = i >= 0 ? list[i] : undefined;
  const changed =
    !old ||
    old.status !== next.status ||
    old.reason !== next.reason ||
    old.message !== next.message ||
    old.observedGeneration !== next.observedGeneration;
  const merged: Condition = {
    ...next,
    lastTransitionTime: changed ? (next.lastTransitionTime ?? now.toISOString()) : old!.lastTransitionTime,
  };
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

export function removeCondition(conds: Condition[] | undefined, type: string): Condition[] {
  return (conds ?? []).filter((c) => c.type !== type);
}

/** KubeDB's NewCondition: type == reason, status True. */
export function newCondition(reason: string, message: string, generation?: number): Condition {
  return { type: reason, status: 'True', reason, message, observedGeneration: generation };
}
