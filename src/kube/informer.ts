// A list-watch cache over client-node's ListWatch that restarts itself after
// errors (client-node relists after a 410 Gone but stops on anything else).
import type { KubeClient, KubeObject, ListWatch, ResourceRef } from './api.ts';

export type { ResourceRef } from './api.ts';

type Handler<T> = (obj: T, old?: T) => void;

export class Informer<T extends KubeObject> {
  private readonly lw: ListWatch<T>;
  private stopped = false;
  private restartDelayMs = 500;
  private synced = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** The version each handler saw last, kept once for all handlers (so each gets the true old one). */
  private readonly last = new Map<string, T>();
  private readonly handlers = { add: [] as Handler<T>[], update: [] as Handler<T>[], delete: [] as Handler<T>[] };
  /** Controllers sharing this informer (SharedInformers): it watches while any of them runs. */
  private users = 0;
  private starting: Promise<void> | undefined;

  constructor(
    kube: KubeClient,
    readonly ref: ResourceRef,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.lw = kube.watch<T>(ref);
    this.lw.on('connect', () => {
      this.synced = true;
      this.restartDelayMs = 500;
    });
    this.lw.on('error', (err: unknown) => {
      this.synced = false;
      if (this.stopped) return;
      this.onError(err);
      this.restartTimer = setTimeout(() => {
        if (!this.stopped) void this.lw.start().catch((e: unknown) => this.onError(e));
      }, this.restartDelayMs);
      this.restartDelayMs = Math.min(this.restartDelayMs * 2, 30_000);
    });
    this.lw.on('add', (o) => {
      this.last.set(Informer.keyOf(o), o);
      for (const h of this.handlers.add) h(o);
    });
    this.lw.on('update', (o) => {
      const key = Informer.keyOf(o);
      const old = this.last.get(key);
      this.last.set(key, o);
      for (const h of this.handlers.update) h(o, old);
    });
    this.lw.on('delete', (o) => {
      this.last.delete(Informer.keyOf(o));
      for (const h of this.handlers.delete) h(o);
    });
  }

  private static keyOf(o: KubeObject): string {
    return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  }

  onAdd(h: Handler<T>): this {
    this.handlers.add.push(h);
    return this;
  }

  /** Called with the previous version when the informer saw it. */
  onUpdate(h: Handler<T>): this {
    this.handlers.update.push(h);
    return this;
  }

  onDelete(h: Handler<T>): this {
    this.handlers.delete.push(h);
    return this;
  }

  /** Every add, update and delete. */
  onAny(h: (obj: T) => void): this {
    return this.onAdd(h).onUpdate(h).onDelete(h);
  }

  /** Starts watching for the first user; later users wait for the same start. */
  async start(): Promise<void> {
    if (this.users++ > 0) return this.starting;
    this.stopped = false;
    this.starting = this.lw.start();
    await this.starting;
  }

  /** Stops watching when its last user stops. */
  async stop(): Promise<void> {
    if (this.users > 0 && --this.users > 0) return;
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.lw.stop();
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }
}
