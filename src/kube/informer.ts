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
  private readonly last = new Map<string, T>();

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
  }

  private static keyOf(o: KubeObject): string {
    return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  }

  onAdd(h: Handler<T>): this {
    this.lw.on('add', (o) => {
      this.last.set(Informer.keyOf(o), o);
      h(o);
    });
    return this;
  }

  /** Called with the previous version when the informer saw it. */
  onUpdate(h: Handler<T>): this {
    this.lw.on('update', (o) => {
      const key = Informer.keyOf(o);
      const old = this.last.get(key);
      this.last.set(key, o);
      h(o, old);
    });
    return this;
  }

  onDelete(h: Handler<T>): this {
    this.lw.on('delete', (o) => {
      this.last.delete(Informer.keyOf(o));
      h(o);
    });
    return this;
  }

  /** Every add, update and delete. */
  onAny(h: (obj: T) => void): this {
    return this.onAdd(h).onUpdate(h).onDelete(h);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.lw.start();
  }

  async stop(): Promise<void> {
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
