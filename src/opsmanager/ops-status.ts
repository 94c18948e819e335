// Reading and writing an ops request: status through the status subresource
// (guarded by resourceVersion), progress notes in annotations (the spec is
// immutable), and KubeDB's condition shapes.
import { k8s, statusCode, type Kube } from '../kube/client.ts';
import { setCondition, type Condition } from '../kube/conditions.ts';

export interface OpsObject extends k8s.KubernetesObject {
  metadata: k8s.V1ObjectMeta;
  spec: {
    databaseRef: { name: string };
    type: string;
    tls?: Record<string, unknown>;
    timeout?: string;
    apply?: 'IfReady' | 'Always';
    maxRetries?: number;
  };
  status?: { phase?: string; observedGeneration?: number; conditions?: Condition[] };
}

export const ANNOTATION = {
  plan: 'ops.pgtls.dev/plan',
  revisions: 'ops.pgtls.dev/revisions',
  step: 'ops.pgtls.dev/step',
  retries: 'ops.pgtls.dev/retries',
} as const;

export class OpsStore {
  constructor(
    private readonly kube: Kube,
    private readonly apiVersion: string,
    private readonly kind: string,
    private readonly plural: string,
  ) {}

  get(namespace: string, name: string): Promise<OpsObject | undefined> {
    return this.kube.get<OpsObject>(this.apiVersion, this.kind, name, namespace);
  }

  async list(namespace: string): Promise<OpsObject[]> {
    const l = await this.kube.objects.list<OpsObject>(this.apiVersion, this.kind, namespace);
    return l.items;
  }

  /** Replaces status; a concurrent writer makes this throw and the reconcile retry. */
  async writeStatus(op: OpsObject, status: NonNullable<OpsObject['status']>): Promise<OpsObject> {
    const [group, version] = this.apiVersion.split('/') as [string, string];
    try {
      return (await this.kube.api(k8s.CustomObjectsApi).replaceNamespacedCustomObjectStatus({
        group,
        version,
        namespace: op.metadata.namespace!,
        plural: this.plural,
        name: op.metadata.name!,
        body: { ...op, status },
      })) as OpsObject;
    } catch (err) {
      if (statusCode(err) === 409) throw new Error(`ops request ${op.metadata.name} changed underneath; retrying`);
      throw err;
    }
  }

  /** Merge-patches annotations and refreshes op's metadata (resourceVersion included). */
  async annotate(op: OpsObject, annotations: Record<string, string | null>): Promise<void> {
    const res = await this.kube.objects.patch(
      { apiVersion: this.apiVersion, kind: this.kind, metadata: { name: op.metadata.name, namespace: op.metadata.namespace, annotations } as k8s.V1ObjectMeta },
      undefined,
      undefined,
      'pgtls',
      undefined,
      k8s.PatchStrategy.MergePatch,
    );
    op.metadata = (res as OpsObject).metadata;
  }
}

/** A step condition as KubeDB's NewCondition makes it: type == reason. */
export function stepCondition(type: string, message: string, generation?: number): Condition {
  return { type, status: 'True', reason: type, message, observedGeneration: generation };
}

/** A sub-step condition as KubeDB's step helpers record them: no reason, a structured message. */
export function subStep(type: string, verb: string, ok: boolean, pod?: string, extra?: string): Condition {
  const msg = `${verb}; ConditionStatus:${ok ? 'True' : 'False'}${pod ? `; PodName:${pod}` : ''}${extra ? `; ${extra}` : ''}`;
  return { type: pod ? `${type}--${pod}` : type, status: ok ? 'True' : 'False', message: msg };
}

export function withCondition(op: OpsObject, c: Condition): NonNullable<OpsObject['status']> {
  return { ...(op.status ?? {}), conditions: setCondition(op.status?.conditions, c) };
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
