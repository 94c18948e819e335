// An in-memory API server behind the KubeClient seam, for unit tests of the
// reconcilers: resourceVersion conflicts, 404s, label selectors, finalizers and
// deletionTimestamp, status as a subresource, JSON merge patch, and a
// server-side apply that is good enough for objects with one field manager
// (top-level fields replaced, labels/annotations merged). No admission, no
// defaulting, no garbage collection of owned objects.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  KubeApiError, describeRef, selectorString,
  type DeleteOptions, type EvictTarget, type ExecResult, type KubeClient, type KubeObject, type ListOptions, type ListWatch, type ObjectRef, type PodContainer, type ResourceRef,
} from '../../src/kube/api.ts';
import { systemClock, type Clock } from '../../src/util/clock.ts';

type Obj = KubeObject & { metadata: NonNullable<KubeObject['metadata']> };

/** Kinds without a status subresource: a write of the object writes all of it. */
const NO_STATUS_SUBRESOURCE = new Set(['Secret', 'ConfigMap', 'Event', 'Lease', 'ServiceAccount']);

export type ExecHandler = (pod: PodContainer, command: string[]) => ExecResult | Promise<ExecResult>;
export type Verb = 'get' | 'list' | 'create' | 'apply' | 'patch' | 'patchStatus' | 'delete' | 'exec' | 'evict';
/** Return an error to make the call fail (before it changes anything), undefined to let it through. */
export type Interceptor = (verb: Verb, ref: ObjectRef, body?: unknown) => Error | undefined;

const keyOf = (r: ObjectRef) => `${r.apiVersion}|${r.kind}|${r.namespace ?? ''}|${r.name}`;
const clone = <T>(o: T): T => structuredClone(o);

export function matchesSelector(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  return selector.split(',').map((s) => s.trim()).filter(Boolean).every((term) => {
    let m: RegExpExecArray | null;
    if ((m = /^([^!=]+)!=(.*)$/.exec(term))) return l[m[1]!.trim()] !== m[2]!.trim();
    if ((m = /^([^!=]+)==?(.*)$/.exec(term))) return l[m[1]!.trim()] === m[2]!.trim();
    if (term.startsWith('!')) return !(term.slice(1).trim() in l);
    return term in l;
  });
}

function sortedKeys<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(sortedKeys) as T;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])])) as T;
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeKube implements KubeClient {
  private readonly objects = new Map<string, Obj>();
  private readonly bus = new EventEmitter();
  private rv = 0;
  /** Every call, in order (verb and object), for assertions. */
  readonly calls: { verb: Verb; ref: string }[] = [];
  execHandler: ExecHandler = (pod, cmd) => ({ exitCode: 127, stdout: '', stderr: `no exec handler for ${cmd.join(' ')} in ${pod.name}` });
  private readonly interceptors: Interceptor[] = [];
  /** Store objects with their keys sorted, as the API server returns them (Go marshals maps sorted). */
  sortKeys = false;

  constructor(private readonly clock: Clock = systemClock) {
    this.bus.setMaxListeners(0);
  }

  /** Adds a fault; returns a function that removes it. */
  intercept(f: Interceptor): () => void {
    this.interceptors.push(f);
    return () => {
      const i = this.interceptors.indexOf(f);
      if (i >= 0) this.interceptors.splice(i, 1);
    };
  }

  private enter(verb: Verb, ref: ObjectRef, body?: unknown): void {
    this.calls.push({ verb, ref: describeRef(ref) });
    for (const f of this.interceptors) {
      const err = f(verb, ref, body);
      if (err) throw err;
    }
  }

  private nextVersion(): string {
    return String(++this.rv);
  }

  private emit(type: 'add' | 'update' | 'delete', o: Obj): void {
    this.bus.emit('change', type, clone(o));
  }

  private ref(o: KubeObject): ObjectRef {
    if (!o.apiVersion || !o.kind || !o.metadata?.name) throw new KubeApiError(422, `object needs apiVersion, kind and metadata.name: ${JSON.stringify(o).slice(0, 120)}`);
    return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace };
  }

  private must(ref: ObjectRef): Obj {
    const o = this.objects.get(keyOf(ref));
    if (!o) throw new KubeApiError(404, `${ref.kind.toLowerCase()} "${ref.name}" not found`);
    return o;
  }

  private store(o: Obj, type: 'add' | 'update'): Obj {
    if (this.sortKeys) o = sortedKeys(o);
    o.metadata.resourceVersion = this.nextVersion();
    // As the API server does: a Secret's stringData is written into data and not kept.
    const withStrings = o as Obj & { stringData?: Record<string, string> };
    if (o.kind === 'Secret' && withStrings.stringData) {
      o.data = { ...o.data, ...Object.fromEntries(Object.entries(withStrings.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) };
      delete withStrings.stringData;
    }
    const key = keyOf(this.ref(o));
    // A deleted object whose last finalizer went away is gone.
    if (o.metadata.deletionTimestamp && !(o.metadata.finalizers?.length)) {
      this.objects.delete(key);
      this.emit('delete', o);
      return clone(o);
    }
    this.objects.set(key, o);
    this.emit(type, o);
    return clone(o);
  }

  /** Writes an object as given, status included (what other controllers and kubelets would have written). */
  seed<T extends KubeObject>(obj: T): T {
    const o = clone(obj) as Obj;
    const existing = this.objects.get(keyOf(this.ref(o)));
    o.metadata.uid ??= existing?.metadata.uid ?? randomUUID();
    o.metadata.creationTimestamp ??= existing?.metadata.creationTimestamp ?? new Date(this.clock.now()).toISOString();
    o.metadata.generation ??= existing?.metadata.generation ?? 1;
    return this.store(o, existing ? 'update' : 'add') as T;
  }

  /** The stored object, without recording a call. */
  peek<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): T | undefined {
    const o = this.objects.get(keyOf({ apiVersion, kind, name, namespace }));
    return o ? (clone(o) as T) : undefined;
  }

  async get<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    const ref = { apiVersion, kind, name, namespace };
    this.enter('get', ref);
    const o = this.objects.get(keyOf(ref));
    return o ? (clone(o) as T) : undefined;
  }

  async list<T extends KubeObject>(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<T[]> {
    this.enter('list', { apiVersion, kind, name: '*', namespace: opts.namespace });
    return this.select<T>(apiVersion, kind, opts.namespace, selectorString(opts.labelSelector));
  }

  private select<T extends KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, selector: string | undefined): T[] {
    return [...this.objects.values()]
      .filter((o) => o.apiVersion === apiVersion && o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace))
      .filter((o) => matchesSelector(o.metadata.labels, selector))
      .map((o) => clone(o) as T);
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    const ref = this.ref(obj);
    this.enter('create', ref, obj);
    if (this.objects.has(keyOf(ref))) throw new KubeApiError(409, `${ref.kind.toLowerCase()} "${ref.name}" already exists`, 'AlreadyExists');
    return this.insert(obj);
  }

  private insert<T extends KubeObject>(obj: T): T {
    const ref = this.ref(obj);
    const o = clone(obj) as Obj;
    if (!NO_STATUS_SUBRESOURCE.has(ref.kind)) delete o.status;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date(this.clock.now()).toISOString();
    o.metadata.generation = 1;
    delete o.metadata.deletionTimestamp;
    return this.store(o, 'add') as T;
  }

  async apply<T extends KubeObject>(obj: T): Promise<T> {
    const ref = this.ref(obj);
    this.enter('apply', ref, obj);
    const existing = this.objects.get(keyOf(ref));
    if (!existing) return this.insert(obj);
    const next = clone(existing);
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'metadata' || k === 'apiVersion' || k === 'kind') continue;
      if (k === 'status' && !NO_STATUS_SUBRESOURCE.has(ref.kind)) continue;
      Object.assign(next, { [k]: clone(v) });
    }
    const m = obj.metadata ?? {};
    if (m.labels) next.metadata.labels = { ...next.metadata.labels, ...m.labels };
    if (m.annotations) next.metadata.annotations = { ...next.metadata.annotations, ...m.annotations };
    if (m.ownerReferences) next.metadata.ownerReferences = clone(m.ownerReferences);
    if (m.finalizers) next.metadata.finalizers = [...new Set([...(next.metadata.finalizers ?? []), ...m.finalizers])];
    if (JSON.stringify(next) === JSON.stringify(existing)) return clone(existing) as T;
    if (JSON.stringify(next.spec) !== JSON.stringify(existing.spec)) next.metadata.generation = (existing.metadata.generation ?? 1) + 1;
    return this.store(next, 'update') as T;
  }

  async patch<T extends KubeObject>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T> {
    this.enter('patch', ref, patch);
    const existing = this.must(ref);
    const want = (patch.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (want && want !== existing.metadata.resourceVersion) throw this.conflict(ref);
    const body = clone(patch);
    if (!NO_STATUS_SUBRESOURCE.has(ref.kind)) delete body.status;
    if (body.metadata) delete (body.metadata as Record<string, unknown>).resourceVersion;
    const next = mergePatch(existing, body) as Obj;
    if (JSON.stringify(next.spec) !== JSON.stringify(existing.spec)) next.metadata.generation = (existing.metadata.generation ?? 1) + 1;
    return this.store(next, 'update') as T;
  }

  async patchStatus<T extends KubeObject>(ref: ObjectRef, status: Record<string, unknown>, opts: { resourceVersion?: string } = {}): Promise<T> {
    this.enter('patchStatus', ref, status);
    const existing = this.must(ref);
    if (opts.resourceVersion && opts.resourceVersion !== existing.metadata.resourceVersion) throw this.conflict(ref);
    const next = clone(existing);
    next.status = mergePatch(existing.status, status);
    return this.store(next, 'update') as T;
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    this.enter('delete', ref);
    const existing = this.objects.get(keyOf(ref));
    if (!existing) return false;
    // A uid precondition that fails is the API server's 409, which the real client reports as false.
    if (opts.uid && existing.metadata.uid !== opts.uid) return false;
    if (existing.metadata.finalizers?.length) {
      if (existing.metadata.deletionTimestamp) return true;
      const next = clone(existing);
      next.metadata.deletionTimestamp = new Date(this.clock.now()).toISOString();
      this.store(next, 'update');
      return true;
    }
    this.objects.delete(keyOf(ref));
    existing.metadata.resourceVersion = this.nextVersion();
    this.emit('delete', existing);
    return true;
  }

  /** No PodDisruptionBudgets here: an eviction is a delete (faults come from intercept). */
  async evict(pod: EvictTarget): Promise<boolean> {
    const ref = { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace };
    this.enter('evict', ref);
    return this.delete(ref, { uid: pod.uid });
  }

  async exec(pod: PodContainer, command: string[]): Promise<ExecResult> {
    const ref = { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace };
    this.enter('exec', ref, command);
    this.must(ref);
    return this.execHandler(pod, command);
  }

  private conflict(ref: ObjectRef): KubeApiError {
    return new KubeApiError(409, `Operation cannot be fulfilled on ${ref.kind.toLowerCase()} "${ref.name}": the object has been modified; please apply your changes to the latest version and try again`);
  }

  watch<T extends KubeObject>(ref: ResourceRef): ListWatch<T> {
    return new FakeListWatch<T>(this, this.bus, ref);
  }

  /** The objects a watch would list (no call recorded). */
  snapshot<T extends KubeObject>(r: ResourceRef): T[] {
    return this.select<T>(r.apiVersion, r.kind, r.namespace, r.labelSelector);
  }
}

class FakeListWatch<T extends KubeObject> implements ListWatch<T> {
  private readonly events = new EventEmitter();
  private readonly cache = new Map<string, T>();
  private listener?: (type: 'add' | 'update' | 'delete', o: T) => void;

  constructor(
    private readonly kube: FakeKube,
    private readonly bus: EventEmitter,
    private readonly ref: ResourceRef,
  ) {}

  on(event: 'add' | 'update' | 'delete' | 'connect' | 'error', cb: (obj: T) => void): void {
    this.events.on(event, cb);
  }

  private key(o: KubeObject): string {
    return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  }

  private matches(o: KubeObject): boolean {
    const r = this.ref;
    return o.apiVersion === r.apiVersion && o.kind === r.kind && (r.namespace === undefined || o.metadata?.namespace === r.namespace) && matchesSelector(o.metadata?.labels, r.labelSelector);
  }

  async start(): Promise<void> {
    for (const o of this.kube.snapshot<T>(this.ref)) {
      this.cache.set(this.key(o), o);
      this.events.emit('add', o);
    }
    this.listener = (type, o) => {
      if (!this.matches(o)) return;
      if (type === 'delete') this.cache.delete(this.key(o));
      else this.cache.set(this.key(o), o);
      this.events.emit(type, o);
    };
    this.bus.on('change', this.listener);
    this.events.emit('connect');
  }

  async stop(): Promise<void> {
    if (this.listener) this.bus.off('change', this.listener);
    this.listener = undefined;
  }

  list(namespace?: string): readonly T[] {
    return [...this.cache.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }
}
