// The seam between the reconcilers and the API server: what they really use,
// as plain JSON objects. `Kube` (client.ts) implements it over HTTP; the
// in-memory fake (test/helpers/fake-kube.ts) implements it for unit tests.
// Errors carry the HTTP status in `code` (404, 409, …) as client-node's do.

/**
 * Object metadata as JSON. Timestamps are RFC 3339 strings on the wire; `Date`
 * is allowed so that client-node's model types (V1Pod, …) fit too.
 */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  data?: Record<string, string>;
}

/** An object with metadata: what the reconcilers read and write. */
export type NamedObject = KubeObject & { metadata: ObjectMeta };

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  /** Absent for cluster-scoped kinds. */
  namespace?: string;
}

/** What a watch follows: a kind, in one namespace or all, optionally by label. */
export interface ResourceRef {
  apiVersion: string;
  kind: string;
  /** Lower-case plural, as in the REST path. */
  plural: string;
  /** Watch one namespace only; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
}

export interface ListOptions {
  namespace?: string;
  /** `k=v,k2=v2` (also `k`, `!k`, `k!=v`), or the equalities as a map. */
  labelSelector?: string | Record<string, string>;
}

export interface PodContainer {
  namespace: string;
  name: string;
  container: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A list-then-watch cache of one resource (client-node's informer shape). */
export interface ListWatch<T extends KubeObject> {
  on(event: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  on(event: 'connect', cb: () => void): void;
  on(event: 'error', cb: (err: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Precondition: delete only the object with this uid. */
  uid?: string;
}

export interface EvictTarget {
  name: string;
  namespace: string;
  /** Precondition: evict only the pod with this uid. */
  uid?: string;
}

export interface KubeClient {
  /** The API server's URL when there is one (the fake has none): how host-run code dials pods depends on it. */
  readonly server?: string;
  /** undefined when the object does not exist. */
  get<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined>;
  list<T extends KubeObject>(apiVersion: string, kind: string, opts?: ListOptions): Promise<T[]>;
  /** Fails with 409 when the object exists. */
  create<T extends KubeObject>(obj: T): Promise<T>;
  /** Server-side apply (forced): idempotent, so callers can re-run it after any crash. */
  apply<T extends KubeObject>(obj: T, fieldManager?: string): Promise<T>;
  /**
   * JSON merge patch of the object (not its status). A `metadata.resourceVersion`
   * in the patch makes it conditional: 409 when the object moved on.
   */
  patch<T extends KubeObject>(ref: ObjectRef, patch: Record<string, unknown>, fieldManager?: string): Promise<T>;
  /** Merge patch of the status subresource; with `resourceVersion`, 409 when the object moved on. */
  patchStatus<T extends KubeObject>(ref: ObjectRef, status: Record<string, unknown>, opts?: { resourceVersion?: string }): Promise<T>;
  /**
   * false when there was nothing to delete. With `uid`, only that object is
   * deleted: one of the same name made since (a pod its controller recreated)
   * is left alone, and false is returned.
   */
  delete(ref: ObjectRef, opts?: DeleteOptions): Promise<boolean>;
  /**
   * Evicts a pod (policy/v1 Eviction, as `kubectl drain` and KubeDB's ops-manager
   * do): the API server deletes it unless a PodDisruptionBudget forbids (429).
   * false when the pod was already gone (or, with `uid`, replaced by another of its name).
   */
  evict(pod: EvictTarget): Promise<boolean>;
  /** Runs a command in a pod's container, as `kubectl exec` does. */
  exec(pod: PodContainer, command: string[], timeoutMs?: number): Promise<ExecResult>;
  watch<T extends KubeObject>(ref: ResourceRef): ListWatch<T>;
}

export const FIELD_MANAGER = 'pgtls';

export function refOf(o: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } }): ObjectRef {
  if (!o.apiVersion || !o.kind || !o.metadata?.name) throw new Error(`object without apiVersion, kind or name: ${JSON.stringify(o).slice(0, 200)}`);
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace };
}

export function describeRef(r: ObjectRef): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

export function selectorString(sel: string | Record<string, string> | undefined): string | undefined {
  if (sel === undefined || typeof sel === 'string') return sel || undefined;
  return Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',');
}

/** An exec that did not finish in its time: the command may still run, or may never have started. */
export class ExecTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecTimeoutError';
  }
}

/** An API error as the server reports it (a Status body), for the fake and for wrapping. */
export class KubeApiError extends Error {
  readonly body: string;
  constructor(
    readonly code: number,
    message: string,
    readonly reason = code === 404 ? 'NotFound' : code === 409 ? 'Conflict' : 'Invalid',
  ) {
    super(message);
    this.name = 'KubeApiError';
    this.body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
  }
}

/**
 * An API call that failed, saying what was being done to which object; the
 * server's error is its cause, its HTTP status stays in `code`.
 */
export class KubeCallError extends Error {
  readonly code: number | undefined;
  constructor(verb: string, ref: ObjectRef, cause: unknown) {
    super(`${verb} ${describeRef(ref)}: ${serverMessage(cause)}`, { cause });
    this.name = 'KubeCallError';
    this.code = statusCode(cause);
  }
}

/** The message of the server's Status body when there is one, else the error's own. */
export function serverMessage(err: unknown): string {
  const body = (err as { body?: unknown } | undefined)?.body;
  const text = typeof body === 'string' ? body : body && typeof body === 'object' ? JSON.stringify(body) : '';
  if (text) {
    try {
      const status = JSON.parse(text) as { message?: string };
      if (status.message) return status.message;
    } catch {
      // not a Status body: the error's own message follows
    }
  }
  return err instanceof Error ? err.message : String(err);
}

export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
  for (const v of [e?.code, e?.statusCode, e?.response?.statusCode]) if (typeof v === 'number') return v;
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusCode(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return statusCode(err) === 409;
}
