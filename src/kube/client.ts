// The Kubernetes client layer: with http-library.ts, the only place the operator
// imports @kubernetes/client-node at run time. `Kube` implements the KubeClient
// seam (api.ts) over HTTP. Named imports only, never the package's namespace:
// the operator's bundle (dist/bundle) then keeps just these, not the ~14 MB of
// generated API classes it does not call. Typed APIs: client-node.ts.
import { Exec, HttpMethod, KubeConfig, KubernetesObjectApi, ListWatch as InformerListWatch, PatchStrategy, Watch } from '@kubernetes/client-node';
import type * as k8s from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import {
  ExecTimeoutError, FIELD_MANAGER, KubeCallError, describeRef, isNotFound, selectorString, statusCode,
  type DeleteOptions, type EvictTarget, type ExecResult, type KubeClient, type KubeObject, type ListOptions, type ListWatch, type ObjectRef, type PodContainer, type ResourceRef,
} from './api.ts';
import { isConditionTrue, type Condition } from './conditions.ts';
import { KeepAliveHttpLibrary, makeApiClient } from './http-library.ts';

export type { KubeClient, KubeObject, ObjectRef, ResourceRef, ExecResult } from './api.ts';
export { FIELD_MANAGER, statusCode, isNotFound, refOf } from './api.ts';
export type { k8s };
export { HttpMethod, PatchStrategy };


/**
 * A kubeconfig file, or without one the pod's ServiceAccount (in-cluster:
 * KUBERNETES_SERVICE_HOST/PORT, the token file re-read as the kubelet rotates
 * it). PGTLS_SERVICEACCOUNT_ROOT prefixes the ServiceAccount paths (tests).
 */
export function loadKubeConfig(file: string | undefined): k8s.KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster(process.env.PGTLS_SERVICEACCOUNT_ROOT ?? '');
  else throw new Error('no --kubeconfig given and not running in a pod (KUBERNETES_SERVICE_HOST is unset)');
  return kc;
}

type Body = object;

/**
 * KubernetesObjectApi serializes bodies through its typed models, which drop
 * keys they do not know in their JSON spelling (a CRD's
 * `x-kubernetes-preserve-unknown-fields` is lost, so the API server rejects
 * the CRD), and turns dates into Date objects. `send` sends and returns JSON
 * exactly as the API server speaks it, so the real client and the fake agree.
 */
class ObjectApi extends KubernetesObjectApi {
  static make(kc: k8s.KubeConfig, http: KeepAliveHttpLibrary): ObjectApi {
    const api = makeApiClient(kc, ObjectApi, http);
    api.setDefaultNamespace(kc);
    return api;
  }

  /** The REST path of an object, or of its collection for 'list'/'create' (discovery, cached). */
  path(ref: { apiVersion: string; kind: string; name?: string; namespace?: string }, action: 'read' | 'list' | 'create'): Promise<string> {
    return this.specUriPath({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } }, action);
  }

  async send<T>(method: k8s.HttpMethod, path: string, o: { body?: Body; contentType?: string; query?: Record<string, string | undefined> } = {}): Promise<T> {
    const ctx = this.configuration.baseServer.makeRequestContext(path, method);
    ctx.setHeaderParam('Accept', 'application/json');
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) ctx.setQueryParam(k, v);
    if (o.body !== undefined) {
      ctx.setHeaderParam('Content-Type', o.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(o.body));
    }
    // 'any' keeps the response as parsed JSON (no typed model in between).
    return this.requestPromise(ctx, 'any') as Promise<T>;
  }
}

export class Kube implements KubeClient {
  readonly objects: ObjectApi;
  /** Every call but watches and execs goes through it: keep-alive connections to the API server. */
  readonly http = new KeepAliveHttpLibrary();
  constructor(readonly kc: k8s.KubeConfig) {
    this.objects = ObjectApi.make(kc, this.http);
  }

  /** See loadKubeConfig: without a file, the in-cluster ServiceAccount. */
  static fromFile(file: string | undefined): Kube {
    return new Kube(loadKubeConfig(file));
  }

  get server(): string | undefined {
    return this.kc.getCurrentCluster()?.server;
  }

  /** A typed client-node API, for code outside the reconcilers (the local cluster, tests). */
  api<T extends k8s.ApiType>(ctor: new (config: k8s.Configuration) => T): T {
    return makeApiClient(this.kc, ctor, this.http);
  }

  /** Runs one API call; a failure says what was being done to which object (the server's error is its cause). */
  private async call<T>(verb: string, ref: ObjectRef, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new KubeCallError(verb, ref, err);
    }
  }

  async apply<T extends KubeObject>(obj: T, fieldManager = FIELD_MANAGER): Promise<T> {
    const ref = refFor(obj);
    return this.call('apply', ref, async () =>
      this.objects.send<T>(HttpMethod.PATCH, await this.objects.path(ref, 'read'), { body: obj, contentType: PatchStrategy.ServerSideApply, query: { fieldManager, force: 'true' } }),
    );
  }

  async get<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    const ref = { apiVersion, kind, name, namespace };
    try {
      return await this.call('get', ref, async () => this.objects.send<T>(HttpMethod.GET, await this.objects.path(ref, 'read')));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<T[]> {
    const what = { apiVersion, kind, name: selectorString(opts.labelSelector) ?? '*', namespace: opts.namespace };
    return (await this.call('list', what, () => this.listObject<T>(apiVersion, kind, opts))).items;
  }

  private async listObject<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions): Promise<{ metadata?: { resourceVersion?: string }; items: T[] }> {
    const path = await this.objects.path({ apiVersion, kind, namespace: opts.namespace }, 'list');
    const list = await this.objects.send<{ metadata?: { resourceVersion?: string }; items: T[] }>(HttpMethod.GET, path, { query: { labelSelector: selectorString(opts.labelSelector) } });
    // Items of a list carry no apiVersion/kind; callers treat them as whole objects.
    list.items = (list.items ?? []).map((o) => ({ ...o, apiVersion, kind }));
    return list;
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    const ref = refFor(obj);
    return this.call('create', ref, async () =>
      this.objects.send<T>(HttpMethod.POST, await this.objects.path(ref, 'create'), { body: obj, query: { fieldManager: FIELD_MANAGER } }),
    );
  }

  async patch<T extends KubeObject>(ref: ObjectRef, patch: Record<string, unknown>, fieldManager = FIELD_MANAGER): Promise<T> {
    return this.call('patch', ref, async () =>
      this.objects.send<T>(HttpMethod.PATCH, await this.objects.path(ref, 'read'), { body: patch, contentType: PatchStrategy.MergePatch, query: { fieldManager } }),
    );
  }

  async patchStatus<T extends KubeObject>(ref: ObjectRef, status: Record<string, unknown>, opts: { resourceVersion?: string } = {}): Promise<T> {
    const body: Record<string, unknown> = { status };
    if (opts.resourceVersion) body.metadata = { resourceVersion: opts.resourceVersion };
    return this.call('patch the status of', ref, async () =>
      this.objects.send<T>(HttpMethod.PATCH, `${await this.objects.path(ref, 'read')}/status`, { body, contentType: PatchStrategy.MergePatch, query: { fieldManager: FIELD_MANAGER } }),
    );
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    const body = opts.uid ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: opts.uid } } : undefined;
    try {
      await this.call('delete', ref, async () => this.objects.send(HttpMethod.DELETE, await this.objects.path(ref, 'read'), { query: { propagationPolicy: opts.propagationPolicy }, body }));
      return true;
    } catch (err) {
      // 409 with a uid precondition: the name now belongs to another object, which is not ours to delete.
      if (isNotFound(err) || (opts.uid && statusCode(err) === 409)) return false;
      throw err;
    }
  }

  async evict(pod: EvictTarget): Promise<boolean> {
    const ref = { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace };
    try {
      await this.call('evict', ref, async () =>
        this.objects.send(HttpMethod.POST, `${await this.objects.path(ref, 'read')}/eviction`, {
          body: {
            apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.name, namespace: pod.namespace },
            ...(pod.uid ? { deleteOptions: { preconditions: { uid: pod.uid } } } : {}),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isNotFound(err) || (pod.uid && statusCode(err) === 409)) return false;
      throw err;
    }
  }

  exec(pod: PodContainer, command: string[], timeoutMs = 30_000): Promise<ExecResult> {
    return execInPod(this.kc, pod, command, timeoutMs);
  }

  watch<T extends KubeObject>(ref: ResourceRef): ListWatch<T> {
    const list = async () => {
      const l = await this.listObject<T>(ref.apiVersion, ref.kind, { namespace: ref.namespace, labelSelector: ref.labelSelector });
      l.items = l.items.map(withoutManagedFields);
      return l;
    };
    // client-node's informer is typed for its model objects; ours are the same JSON.
    type Model = T & k8s.KubernetesObject;
    return new InformerListWatch<Model>(resourcePath(ref), new SlimWatch(this.kc), list as () => Promise<k8s.KubernetesListObject<Model>>, false, ref.labelSelector);
  }
}

/**
 * An object as a cache keeps it: without metadata.managedFields, which no
 * controller here reads and which is often a third of an object's size
 * (controller-runtime's TransformStripManagedFields). Pure.
 */
export function withoutManagedFields<T>(o: T): T {
  const meta = (o as { metadata?: { managedFields?: unknown } } | undefined)?.metadata;
  if (!meta || meta.managedFields === undefined) return o;
  const rest = { ...meta };
  delete rest.managedFields;
  return { ...o, metadata: rest } as T;
}

/** client-node's Watch, handing the informer each object without its managedFields. */
class SlimWatch extends Watch {
  override watch(path: string, query: Record<string, string | number | boolean | undefined>, callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
    return super.watch(path, query, (phase, obj, watchObj) => callback(phase, withoutManagedFields(obj), watchObj), done);
  }
}

function refFor(obj: KubeObject): ObjectRef {
  if (!obj.apiVersion || !obj.kind) throw new Error(`object ${obj.metadata?.name ?? '(unnamed)'} has no apiVersion or kind`);
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata?.name ?? '', namespace: obj.metadata?.namespace };
}

export function resourcePath(r: ResourceRef): string {
  const base = r.apiVersion === 'v1' ? '/api/v1' : `/apis/${r.apiVersion}`;
  return r.namespace ? `${base}/namespaces/${r.namespace}/${r.plural}` : `${base}/${r.plural}`;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/**
 * Runs a command in a pod's container through the API server (the kubelet's
 * exec), as `kubectl exec` does: works the same on any cluster and needs no
 * database credentials, so a reload never depends on the auth mode in force.
 */
function execInPod(kc: k8s.KubeConfig, pod: PodContainer, command: string[], timeoutMs: number): Promise<ExecResult> {
  const out = collector();
  const err = collector();
  const where = `exec ${command[0] ?? ''} in ${describeRef({ apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace })} (container ${pod.container})`;
  return new Promise<ExecResult>((resolve, reject) => {
    let status: k8s.V1Status | undefined;
    const timer = setTimeout(() => reject(new ExecTimeoutError(`${where} timed out after ${timeoutMs} ms`)), timeoutMs);
    new Exec(kc)
      .exec(pod.namespace, pod.name, pod.container, command, out.stream, err.stream, null, false, (s) => {
        status = s;
      })
      .then((ws) => {
        ws.on('close', () => {
          clearTimeout(timer);
          let exitCode = status?.status === 'Success' ? 0 : 1;
          const cause = status?.details?.causes?.find((c) => c.reason === 'ExitCode');
          if (cause?.message) exitCode = Number(cause.message);
          resolve({ exitCode, stdout: out.text(), stderr: err.text() });
        });
        ws.on('error', (e: Error) => {
          clearTimeout(timer);
          reject(new Error(`${where}: ${e.message}`, { cause: e }));
        });
      })
      .catch((e: unknown) => {
        clearTimeout(timer);
        reject(new Error(`${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      });
  });
}

/** Whether an object's status has the condition True (for objects of any kind, e.g. a CRD's Established). */
export function conditionTrue(obj: { status?: unknown } | undefined, type: string): boolean {
  return isConditionTrue((obj?.status as { conditions?: Condition[] } | undefined)?.conditions, type);
}

