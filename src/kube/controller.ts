// The reconcile loop, in controller-runtime's style: watches turn events into
// keys on a work queue; workers call reconcile(key), which reads the world,
// converges it one step and returns; errors back off, requeueAfter re-polls.
import type { Logger } from '../observability/logger.ts';
import { serverMessage, type KubeObject } from './api.ts';
import type { Informer } from './informer.ts';
import { WorkQueue } from './workqueue.ts';
import { metrics } from '../observability/metrics.ts';

export interface ObjectKey {
  namespace: string;
  name: string;
}

export interface Result {
  /** Reconcile again after this many ms even without an event. */
  requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(key: ObjectKey): Promise<Result | void>;
}

export function keyString(k: ObjectKey): string {
  return `${k.namespace}/${k.name}`;
}

export function parseKey(s: string): ObjectKey {
  const i = s.indexOf('/');
  return { namespace: s.slice(0, i), name: s.slice(i + 1) };
}

export function objectKey(o: KubeObject): ObjectKey {
  return { namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' };
}

export class Controller {
  readonly queue: WorkQueue;
  /** Only started and stopped here, so their object type does not matter. */
  private readonly informers: Pick<Informer<KubeObject>, 'start' | 'stop'>[] = [];
  private workers: Promise<void>[] = [];
  private running = false;

  constructor(
    readonly name: string,
    private readonly reconciler: Reconciler,
    private readonly log: Logger,
    private readonly opts: {
      workers?: number;
      baseDelayMs?: number;
      /**
       * A reconcile that asks to run again at once (requeueAfterMs 0) runs again in
       * the same worker, up to this many passes in a row, instead of going to the
       * back of a queue that may hold a hundred others: a request moves through its
       * steps until it waits on something outside (cert-manager, pods). 1: every
       * pass goes through the queue.
       */
      followThrough?: number;
    } = {},
  ) {
    this.queue = new WorkQueue({ baseDelayMs: opts.baseDelayMs ?? 500, observer: metrics.queue(name) });
  }

  /**
   * Reconcile the object itself on every change; with `ignoreStatusOnly`, not
   * on an update that changed only its status (controller-runtime's
   * GenerationChangedPredicate, metadata changes kept): a controller that is
   * the only writer of that status gains nothing from its own writes' echo.
   */
  watchFor<T extends KubeObject>(inf: Informer<T>, opts: { ignoreStatusOnly?: boolean } = {}): this {
    const enqueue = (o: T) => this.queue.add(keyString(objectKey(o)));
    inf.onAdd(enqueue).onDelete(enqueue);
    inf.onUpdate((o, old) => {
      if (opts.ignoreStatusOnly && old && statusOnlyChange(old, o)) return;
      enqueue(o);
    });
    this.informers.push(inf);
    return this;
  }

  /** Reconcile the owner of kind `ownerKind` when an owned object changes. */
  watchOwned<T extends KubeObject>(inf: Informer<T>, ownerKind: string): this {
    return this.watchMapped(inf, (o) => {
      const owner = o.metadata?.ownerReferences?.find((r) => r.kind === ownerKind && r.controller);
      return owner ? [{ namespace: o.metadata?.namespace ?? '', name: owner.name }] : [];
    });
  }

  /** Reconcile whatever keys `map` returns for a changed object. */
  watchMapped<T extends KubeObject>(inf: Informer<T>, map: (o: T) => ObjectKey[]): this {
    inf.onAny((o) => {
      for (const k of map(o)) this.queue.add(keyString(k));
    });
    this.informers.push(inf);
    return this;
  }

  /** Keys waiting, and keys being reconciled now. */
  get depth(): { queued: number; active: number } {
    return { queued: this.queue.length, active: this.queue.active };
  }

  async start(): Promise<void> {
    this.running = true;
    for (const inf of new Set(this.informers)) await inf.start();
    const n = this.opts.workers ?? 2;
    this.workers = Array.from({ length: n }, () => this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue.shutDown();
    for (const inf of new Set(this.informers)) await inf.stop();
    await Promise.all(this.workers);
  }

  /** Reconciles key, again at once while it asks for that (bounded by followThrough). */
  private async passes(key: string): Promise<Result | void> {
    const max = Math.max(1, this.opts.followThrough ?? 1);
    let res: Result | void = { requeueAfterMs: 0 };
    for (let i = 0; i < max && this.running; i++) {
      res = await this.reconciler.reconcile(parseKey(key));
      if (res?.requeueAfterMs !== 0) return res;
    }
    return res;
  }

  private async work(): Promise<void> {
    while (this.running) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = Date.now();
      try {
        const res = await this.passes(key);
        this.queue.forget(key);
        if (res?.requeueAfterMs !== undefined) this.queue.addAfter(key, res.requeueAfterMs);
        metrics.reconciled(this.name, started, res?.requeueAfterMs !== undefined ? 'requeue' : 'success');
        this.log.debug({ controller: this.name, object: key, ms: Date.now() - started }, 'reconciled');
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        metrics.reconciled(this.name, started, 'error');
        this.log.warn({ controller: this.name, object: key, err: errorText(err), retryInMs: delay }, 'reconcile failed');
      } finally {
        this.queue.done(key);
      }
    }
  }
}

/**
 * Whether an update changed nothing but status (pure): same generation (the
 * spec), and the same labels, annotations, finalizers and deletion mark.
 */
export function statusOnlyChange(old: KubeObject, cur: KubeObject): boolean {
  const a = old.metadata ?? {};
  const b = cur.metadata ?? {};
  const same = (x: unknown, y: unknown) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
  return (
    a.generation !== undefined &&
    a.generation === b.generation &&
    same(a.deletionTimestamp, b.deletionTimestamp) &&
    same(a.finalizers, b.finalizers) &&
    same(a.labels, b.labels) &&
    same(a.annotations, b.annotations)
  );
}

/** One line for logs and conditions: the server's message, or the error's own (which says what was being done). */
export function errorText(err: unknown): string {
  return serverMessage(err);
}
