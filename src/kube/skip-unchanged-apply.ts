// A KubeClient that does not re-send an apply that would change nothing: the
// reconcilers apply their whole desired state on every pass (level-triggered),
// which at rest is one forced server-side apply per object per resync — with
// hundreds of databases, a steady stream of writes for no change. An apply is
// skipped when the same desired object was applied before and the live object
// has not moved since (no one else wrote it); anything else goes through. The
// check costs one GET; everything but apply and delete passes straight on.
// It also counts the requests made through it, by verb (the operator reports them).
import { createHash } from 'node:crypto';
import { refOf, statusCode, type DeleteOptions, type EvictTarget, type ExecResult, type KubeClient, type KubeObject, type ListOptions, type ListWatch, type ObjectRef, type PodContainer, type ResourceRef } from './api.ts';

/** Bounded: one entry per applied object; the oldest go first beyond this. */
const DEFAULT_MAX_ENTRIES = 20_000;

interface Applied {
  /** Hash of the desired object as last applied. */
  desired: string;
  /** What the live object looked like right after that apply (see liveMark). */
  live: string;
}

const refKey = (r: ObjectRef) => `${r.apiVersion}|${r.kind}|${r.namespace ?? ''}|${r.name}|`;
const keyOf = (r: ObjectRef, fieldManager: string | undefined) => `${refKey(r)}${fieldManager ?? ''}`;

/** JSON with object keys sorted, so equal objects hash equally whatever order they were built in. */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'undefined';
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}

const hash = (s: string) => createHash('sha256').update(s).digest('base64url');

/** Kinds whose content is not a spec: every change moves the resourceVersion only. */
const NO_SPEC = new Set(['Secret', 'ConfigMap', 'ServiceAccount']);

/**
 * What must not have changed since our apply for a repeat to be a no-op (pure).
 * An object with a status written by others (a StatefulSet, a Certificate)
 * gets a new resourceVersion at every status write, so there the generation
 * (bumped by every spec change) and the metadata stand for it; elsewhere
 * (Secrets, ConfigMaps) the resourceVersion moves only when the object is written.
 */
export function liveMark(o: KubeObject): string {
  const m = o.metadata ?? {};
  if (m.generation !== undefined && !NO_SPEC.has(o.kind ?? '')) {
    return `${m.uid}|g${m.generation}|${hash(stableJson({ labels: m.labels, annotations: m.annotations, ownerReferences: m.ownerReferences, deletionTimestamp: m.deletionTimestamp }))}`;
  }
  return `${m.uid}|rv${m.resourceVersion}`;
}

export interface ApplyStats {
  applied: number;
  skipped: number;
}

/** Verbs that change something on the server. */
export const WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'apply', 'patch', 'patchStatus', 'delete', 'exec']);

export class SkipUnchangedApply implements KubeClient {
  private readonly applied = new Map<string, Applied>();
  readonly stats: ApplyStats = { applied: 0, skipped: 0 };
  /** Requests sent to the server, by verb (watches counted when opened). */
  readonly requests: Record<string, number> = {};
  /** The same, by `verb kind`: what the writes at rest are, if any. */
  readonly requestsByKind: Record<string, number> = {};

  private count(verb: string, kind: string): void {
    this.requests[verb] = (this.requests[verb] ?? 0) + 1;
    const k = `${verb} ${kind}`;
    this.requestsByKind[k] = (this.requestsByKind[k] ?? 0) + 1;
  }

  constructor(
    private readonly inner: KubeClient,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {}

  get server(): string | undefined {
    return this.inner.server;
  }

  async apply<T extends KubeObject>(obj: T, fieldManager?: string): Promise<T> {
    const ref = refOf(obj);
    const key = keyOf(ref, fieldManager);
    const desired = hash(stableJson(obj));
    const prev = this.applied.get(key);
    if (prev?.desired === desired) {
      this.count('get', ref.kind);
      // A kind the caller may write but not read (a narrow role) is simply applied.
      const live = await this.inner.get<T>(ref.apiVersion, ref.kind, ref.name, ref.namespace).catch((err: unknown) => {
        if (statusCode(err) === 403) return undefined;
        throw err;
      });
      if (live && !live.metadata?.deletionTimestamp && liveMark(live) === prev.live) {
        this.stats.skipped++;
        return live;
      }
    }
    this.count('apply', ref.kind);
    const out = await this.inner.apply(obj, fieldManager);
    this.stats.applied++;
    this.remember(key, { desired, live: liveMark(out) });
    return out;
  }

  async delete(ref: ObjectRef, opts?: DeleteOptions): Promise<boolean> {
    const prefix = refKey(ref);
    for (const k of [...this.applied.keys()]) if (k.startsWith(prefix)) this.applied.delete(k);
    this.count('delete', ref.kind);
    return this.inner.delete(ref, opts);
  }

  private remember(key: string, a: Applied): void {
    // Re-inserting moves the key to the end: the Map's order is least recently applied first.
    this.applied.delete(key);
    this.applied.set(key, a);
    while (this.applied.size > this.maxEntries) {
      const oldest = this.applied.keys().next().value;
      if (oldest === undefined) break;
      this.applied.delete(oldest);
    }
  }

  /** How many objects are remembered (bounded by maxEntries). */
  get size(): number {
    return this.applied.size;
  }

  get<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    this.count('get', kind);
    return this.inner.get(apiVersion, kind, name, namespace);
  }

  list<T extends KubeObject>(apiVersion: string, kind: string, opts?: ListOptions): Promise<T[]> {
    this.count('list', kind);
    return this.inner.list(apiVersion, kind, opts);
  }

  create<T extends KubeObject>(obj: T): Promise<T> {
    this.count('create', obj.kind ?? '');
    return this.inner.create(obj);
  }

  patch<T extends KubeObject>(ref: ObjectRef, patch: Record<string, unknown>, fieldManager?: string): Promise<T> {
    this.count('patch', ref.kind);
    return this.inner.patch(ref, patch, fieldManager);
  }

  patchStatus<T extends KubeObject>(ref: ObjectRef, status: Record<string, unknown>, opts?: { resourceVersion?: string }): Promise<T> {
    this.count('patchStatus', ref.kind);
    return this.inner.patchStatus(ref, status, opts);
  }

  evict(pod: EvictTarget): Promise<boolean> {
    this.count('evict', 'Pod');
    return this.inner.evict(pod);
  }

  exec(pod: PodContainer, command: string[], timeoutMs?: number): Promise<ExecResult> {
    this.count('exec', 'Pod');
    return this.inner.exec(pod, command, timeoutMs);
  }

  watch<T extends KubeObject>(ref: ResourceRef): ListWatch<T> {
    this.count('watch', ref.kind);
    return this.inner.watch(ref);
  }
}
