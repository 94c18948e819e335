// Status conditions with kmodules' SetCondition semantics (KubeDB's): replace
// by type, and move lastTransitionTime only when status, reason, message or
// observedGeneration change.

import type { Condition } from '../api/shared/condition.ts';

/** The one condition type: kmodules' Condition, from the API schema. */
export type { Condition };

/** A condition about to be set: setCondition stamps its lastTransitionTime. */
export type NewCondition = Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string };

export function findCondition<C extends NewCondition>(conds: readonly C[] | undefined, type: string): C | undefined {
  return conds?.find((c) => c.type === type);
}

export function isConditionTrue(conds: readonly NewCondition[] | undefined, type: string): boolean {
  return findCondition(conds, type)?.status === 'True';
}

/** Returns a new list; the input is not modified. */
export function setCondition(conds: readonly Condition[] | undefined, next: NewCondition, now = new Date()): Condition[] {
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

export function removeCondition(conds: readonly Condition[] | undefined, type: string): Condition[] {
  return (conds ?? []).filter((c) => c.type !== type);
}

/** KubeDB's NewCondition: type == reason, status True. */
export function newCondition(reason: string, message: string, generation?: number): NewCondition {
  return { type: reason, status: 'True', reason, message, observedGeneration: generation };
}
