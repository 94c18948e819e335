// Reading and writing an ops request: status through the status subresource
// (guarded by resourceVersion), progress notes in status.progress (the spec is
// immutable, and annotations are the creator's to edit), and KubeDB's
// condition shapes. Progress is checked whenever it is read.
import type { OpsObject } from '../api/objects.ts';
import type { OpsProgress } from '../api/ops.kubedb.com/v1alpha1/ops-request.ts';
import { isConflict, type KubeClient, type ObjectRef } from '../kube/api.ts';
import { setCondition, type NewCondition } from '../kube/conditions.ts';
import { metrics } from '../observability/metrics.ts';
import { StepFailed } from './ops-type.ts';

export type { OpsObject, OpsProgress };

/** The most retries spec.maxRetries may ask for (admission refuses more; the reconciler never goes beyond). */
export const MAX_RETRIES = 10;

/** Progress as the reconciler uses it, every field checked. */
export interface Progress {
  plan?: unknown;
  revisions?: Record<string, number>;
  step?: { name: string; startedAt: number };
  retries: number;
  lastWorking?: string;
}

const STEP_NAME = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;
const CLOCK_SKEW_MS = 60_000;

/**
 * status.progress, validated: a malformed note (a negative or huge retry
 * count, a clock in the future, a revision that is not a count) fails the
 * request rather than steer it.
 */
export function readProgress(op: OpsObject, nowMs: number): Progress {
  const p = (op.status?.progress ?? {}) as Record<string, unknown>;
  const bad = (field: string, v: unknown, why: string) => new StepFailed(`status.progress.${field}: Invalid value: ${JSON.stringify(v)}: ${why}`);
  const retries = p.retries ?? 0;
  if (!Number.isInteger(retries) || (retries as number) < 0 || (retries as number) > MAX_RETRIES) throw bad('retries', retries, `must be a whole number from 0 to ${MAX_RETRIES}`);
  const out: Progress = { retries: retries as number, plan: p.plan };
  if (p.step !== undefined) {
    const st = p.step as { name?: unknown; startedAt?: unknown } | null;
    const at = typeof st?.startedAt === 'string' ? Date.parse(st.startedAt) : Number.NaN;
    if (typeof st?.name !== 'string' || !STEP_NAME.test(st.name)) throw bad('step.name', st?.name, 'not a step name');
    if (!Number.isFinite(at) || at > nowMs + CLOCK_SKEW_MS) throw bad('step.startedAt', st.startedAt, 'must be a time that has passed');
    out.step = { name: st.name, startedAt: at };
  }
  if (p.revisions !== undefined) {
    const r = p.revisions;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad('revisions', r, 'must map Certificate names to revisions');
    for (const [k, v] of Object.entries(r)) if (!Number.isSafeInteger(v) || (v as number) < 0) throw bad(`revisions.${k}`, v, 'must be a revision number');
    out.revisions = r as Record<string, number>;
  }
  if (p.lastWorking !== undefined) {
    if (typeof p.lastWorking !== 'string' || !/^[0-9a-f]{64}$/.test(p.lastWorking)) throw bad('lastWorking', p.lastWorking, 'must be a SHA-256 digest');
    out.lastWorking = p.lastWorking;
  }
  return out;
}

export class OpsStore {
  constructor(
    private readonly kube: KubeClient,
    private readonly apiVersion: string,
    private readonly kind: string,
  ) {}

  get(namespace: string, name: string): Promise<OpsObject | undefined> {
    return this.kube.get<OpsObject>(this.apiVersion, this.kind, name, namespace);
  }

  list(namespace: string): Promise<OpsObject[]> {
    return this.kube.list<OpsObject>(this.apiVersion, this.kind, { namespace });
  }

  private ref(op: OpsObject): ObjectRef {
    return { apiVersion: this.apiVersion, kind: this.kind, name: op.metadata.name!, namespace: op.metadata.namespace };
  }

  /** Replaces status; a concurrent writer makes this throw and the reconcile retry. */
  async writeStatus(op: OpsObject, status: NonNullable<OpsObject['status']>): Promise<OpsObject> {
    try {
      const next = await this.kube.patchStatus<OpsObject>(this.ref(op), status, { resourceVersion: op.metadata.resourceVersion });
      for (const step of newSteps(op, status)) metrics.opsStep(this.kind, op, step);
      return next;
    } catch (err) {
      if (isConflict(err)) throw new Error(`${this.kind} ${op.metadata.namespace}/${op.metadata.name} changed underneath; retrying`, { cause: err });
      throw err;
    }
  }

  /** Records progress notes (null removes one) in status; returns the request as written. */
  recordProgress(op: OpsObject, notes: { [K in keyof OpsProgress]?: OpsProgress[K] | null }): Promise<OpsObject> {
    const progress = { ...(op.status?.progress ?? {}) } as Record<string, unknown>;
    for (const [k, v] of Object.entries(notes)) {
      if (v === null) delete progress[k];
      else progress[k] = v;
    }
    // A merge patch: a removed note must be sent as null to go away.
    const patch = { ...progress, ...Object.fromEntries(Object.entries(notes).filter(([, v]) => v === null)) };
    return this.writeStatus(op, { ...(op.status ?? {}), progress: patch as OpsProgress });
  }
}

/** Step conditions (type == reason, True) that `status` adds to op's: each ends a step in the metrics. */
export function newSteps(op: OpsObject, status: NonNullable<OpsObject['status']>): string[] {
  const steps = (conds: readonly { type: string; reason?: string; status: string }[] | undefined) =>
    new Set((conds ?? []).filter((c) => c.reason === c.type && c.status === 'True').map((c) => c.type));
  const before = steps(op.status?.conditions);
  return [...steps(status.conditions)].filter((t) => !before.has(t));
}

/** A step condition as KubeDB's NewCondition makes it: type == reason. */
export function stepCondition(type: string, message: string, generation?: number): NewCondition {
  return { type, status: 'True', reason: type, message, observedGeneration: generation };
}

/** A sub-step condition as KubeDB's step helpers record them: no reason, a structured message. */
export function subStep(type: string, verb: string, ok: boolean, pod?: string, extra?: string): NewCondition {
  const msg = `${verb}; ConditionStatus:${ok ? 'True' : 'False'}${pod ? `; PodName:${pod}` : ''}${extra ? `; ${extra}` : ''}`;
  return { type: pod ? `${type}--${pod}` : type, status: ok ? 'True' : 'False', message: msg };
}

export function withCondition(op: OpsObject, c: NewCondition, now = new Date()): NonNullable<OpsObject['status']> {
  return { ...(op.status ?? {}), conditions: setCondition(op.status?.conditions, c, now) };
}

/** Go-style durations as KubeDB writes them: "5m", "30s", "1h30m". */
export function parseDuration(s: string | undefined, fallbackMs: number): number {
  if (!s) return fallbackMs;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let matched = '';
  for (const m of s.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    matched += m[0];
  }
  return matched === s && total > 0 ? total : fallbackMs;
}
