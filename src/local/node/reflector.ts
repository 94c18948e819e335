// List-then-watch cache of one resource collection. It relists after a 410
// (expired resourceVersion) and restarts after any other error, so it never
// silently stops the way client-node's informers do.
import type { KubernetesObject } from '@kubernetes/client-node';
import { isCode, type Rest } from './rest.ts';

export type ChangeHandler<T> = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class Reflector<T extends KubernetesObject> {
  readonly items = new Map<string, T>();
  private readonly abort = new AbortController();
  private synced = false;
  private readonly syncedWaiters: (() => void)[] = [];
  private handlers: ChangeHandler<T>[] = [];

  constructor(
    private readonly rest: Rest,
    /** Collection path, e.g. /api/v1/pods */
    private readonly path: string,
    private readonly query = '',
    private readonly log: (msg: string) => void = () => {},
  ) {}

  on(h: ChangeHandler<T>): this {
    this.handlers.push(h);
    return this;
  }

  list(): T[] {
    return [...this.items.values()];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(`${namespace ?? ''}/${name}`);
  }

  start(): this {
    void this.loop();
    return this;
  }

  stop(): void {
    this.abort.abort();
  }

  isSynced(): boolean {
    return this.synced;
  }

  waitSynced(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncedWaiters.push(r));
  }

  private emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    for (const h of this.handlers) {
      try {
        h(type, obj);
      } catch (err) {
        this.log(`handler for ${this.path} failed: ${String(err)}`);
      }
    }
  }

  private async relist(): Promise<string> {
    const res = await this.rest.get<{ items: T[]; metadata: { resourceVersion: string } }>(`${this.path}?${this.query}`);
    const seen = new Set<string>();
    for (const o of res.items) {
      const k = keyOf(o);
      seen.add(k);
      const old = this.items.get(k);
      this.items.set(k, o);
      if (!old) this.emit('ADDED', o);
      else if (old.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.emit('MODIFIED', o);
    }
    for (const [k, o] of this.items) {
      if (!seen.has(k)) {
        this.items.delete(k);
        this.emit('DELETED', o);
      }
    }
    return res.metadata.resourceVersion;
  }

  private async loop(): Promise<void> {
    let rv: string | undefined;
    while (!this.abort.signal.aborted) {
      try {
        if (rv === undefined) {
          rv = await this.relist();
          if (!this.synced) {
            this.synced = true;
            for (const w of this.syncedWaiters.splice(0)) w();
          }
        }
        const q = `${this.query ? this.query + '&' : ''}watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${rv}`;
        let gone = false;
        await this.rest.watch<T>(
          `${this.path}?${q}`,
          (ev) => {
            if (ev.type === 'ERROR') {
              gone = true;
              return;
            }
            const o = ev.object;
            rv = o.metadata?.resourceVersion ?? rv;
            if (ev.type === 'BOOKMARK') return;
            const k = keyOf(o);
            if (ev.type === 'DELETED') this.items.delete(k);
            else this.items.set(k, o);
            this.emit(ev.type, o);
          },
          this.abort.signal,
        );
        if (gone) rv = undefined;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        if (!isCode(err, 410)) this.log(`watch ${this.path} failed, restarting: ${String(err).slice(0, 200)}`);
        rv = undefined;
        await sleep(1000);
      }
    }
  }
}
