// The Kubernetes client layer: the only place that imports @kubernetes/client-node.
import * as k8s from '@kubernetes/client-node';

export type KubeObject = k8s.KubernetesObject & { spec?: unknown; status?: unknown; data?: Record<string, string> };
export { k8s };

export const FIELD_MANAGER = 'pgtls';

/**
 * A kubeconfig file, or without one the pod's ServiceAccount (in-cluster:
 * KUBERNETES_SERVICE_HOST/PORT, the token file re-read as the kubelet rotates
 * it). PGTLS_SERVICEACCOUNT_ROOT prefixes the ServiceAccount paths (tests).
 */
export function loadKubeConfig(file: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster(process.env.PGTLS_SERVICEACCOUNT_ROOT ?? '');
  else throw new Error('no --kubeconfig given and not running in a pod (KUBERNETES_SERVICE_HOST is unset)');
  return kc;
}

/**
 * KubernetesObjectApi serializes bodies through its typed models, which drop
 * keys they do not know in their JSON spelling (a CRD's
 * `x-kubernetes-preserve-unknown-fields` is lost, so the API server rejects
 * the CRD). Apply sends the object exactly as given instead.
 */
class ObjectApi extends k8s.KubernetesObjectApi {
  static make(kc: k8s.KubeConfig): ObjectApi {
    const api = kc.makeApiClient(ObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  async applyExact<T extends k8s.KubernetesObject>(obj: T, fieldManager: string, force: boolean): Promise<T> {
    const path = await this.specUriPath(obj, 'patch');
    const ctx = this.configuration.baseServer.makeRequestContext(path, k8s.HttpMethod.PATCH);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', k8s.PatchStrategy.ServerSideApply);
    ctx.setQueryParam('fieldManager', fieldManager);
    if (force) ctx.setQueryParam('force', 'true');
    ctx.setBody(JSON.stringify(obj));
    return this.requestPromise<T>(ctx);
  }
}

export class Kube {
  readonly objects: ObjectApi;
  constructor(readonly kc: k8s.KubeConfig) {
    this.objects = ObjectApi.make(kc);
  }

  /** See loadKubeConfig: without a file, the in-cluster ServiceAccount. */
  static fromFile(file: string | undefined): Kube {
    return new Kube(loadKubeConfig(file));
  }

  api<T extends k8s.ApiType>(ctor: new (config: k8s.Configuration) => T): T {
    return this.kc.makeApiClient(ctor);
  }

  /** Server-side apply: idempotent, so callers can re-run it after any crash. */
  async apply<T extends k8s.KubernetesObject>(obj: T, fieldManager = FIELD_MANAGER): Promise<T> {
    return this.objects.applyExact(obj, fieldManager, true);
  }

  async get<T extends k8s.KubernetesObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    try {
      return (await this.objects.read({ apiVersion, kind, metadata: { name, namespace } })) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
  for (const v of [e?.code, e?.statusCode, e?.response?.statusCode]) if (typeof v === 'number') return v;
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusCode(err) === 404;
}

export type Condition = { type: string; status: string; reason?: string; message?: string };

export function conditionTrue(obj: { status?: unknown } | undefined, type: string): boolean {
  const conds = (obj?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  return conds.some((c) => c.type === type && c.status === 'True');
}
