// Reading and writing an ops request: status through the status subresource
// (guarded by resourceVersion), progress notes in annotations (the spec is
// immutable), and KubeDB's condition shapes.
import type { OpsObject } from '../api/objects.ts';
import { isConflict, type KubeClient, type ObjectRef } from '../kube/api.ts';
import { setCondition, type NewCondition } from '../kube/conditions.ts';
import { metrics } from '../observability/metrics.ts';

export type { OpsObject };

export const ANNOTATION = {
  plan: 'ops.pgtls.dev/plan',
  revisions: 'ops.pgtls.dev/revisions',
  step: 'ops.pgtls.dev/step',
  retries: 'ops.pgtls.dev/retries',
  /** The pod a restart rollout deleted and waits for (rollout.ts RolloutMark). */
  restarting: 'ops.pgtls.dev/restarting',
} as const;

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

  /** Merge-patches annotations and refreshes op's metadata (resourceVersion included). */
  async annotate(op: OpsObject, annotations: Record<string, string | null>): Promise<void> {
    const res = await this.kube.patch<OpsObject>(this.ref(op), { metadata: { annotations } });
    op.metadata = res.metadata;
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
