// Writes only while leading. A replica that lost its Lease — or that was
// frozen (SIGSTOP, a long GC pause, a partition) past its renew deadline and
// does not know it yet — must write nothing more: the other replica may
// already act. Every write and exec checks the term first, and every wait of
// the term ends when the term does, so in-flight reconciles, rollouts and
// ops steps stop at their next await instead of finishing with stale state.
import type { DeleteOptions, EvictTarget, ExecResult, KubeClient, KubeObject, ListOptions, ListWatch, ObjectRef, PodContainer, ResourceRef } from './api.ts';
import type { Clock } from '../util/clock.ts';

export class LeadershipLostError extends Error {
  constructor(what: string) {
    super(`leadership lost: ${what} not done`);
    this.name = 'LeadershipLostError';
  }
}

/** One leadership term: valid while `holds()` (checked against the local clock) and not aborted. */
export interface Term {
  readonly signal: AbortSignal;
  /** True while the last renewal is younger than the renew deadline (leader-election.ts). */
  holds(): boolean;
  /** Ends the term at once (aborts its signal). */
  end(reason: string): void;
}

export function checkTerm(term: Term, what: string): void {
  if (!term.signal.aborted && term.holds()) return;
  term.end(`${what} attempted after the lease expired locally`);
  throw new LeadershipLostError(what);
}

const refText = (r: { kind?: string; namespace?: string; name?: string; metadata?: { name?: string; namespace?: string } }) =>
  `${r.kind ?? ''} ${r.namespace ?? r.metadata?.namespace ?? ''}/${r.name ?? r.metadata?.name ?? ''}`;

/** The API as controllers see it during a term: reads pass, writes and execs need the term. */
export class FencedKube implements KubeClient {
  constructor(
    private readonly inner: KubeClient,
    private readonly term: Term,
  ) {}

  get server(): string | undefined {
    return this.inner.server;
  }

  get<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    return this.inner.get<T>(apiVersion, kind, name, namespace);
  }

  list<T extends KubeObject>(apiVersion: string, kind: string, opts?: ListOptions): Promise<T[]> {
    return this.inner.list<T>(apiVersion, kind, opts);
  }

  watch<T extends KubeObject>(ref: ResourceRef): ListWatch<T> {
    return this.inner.watch<T>(ref);
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    checkTerm(this.term, `create ${refText(obj as never)}`);
    return this.inner.create(obj);
  }

  async apply<T extends KubeObject>(obj: T, fieldManager?: string): Promise<T> {
    checkTerm(this.term, `apply ${refText(obj as never)}`);
    return this.inner.apply(obj, fieldManager);
  }

  async patch<T extends KubeObject>(ref: ObjectRef, patch: Record<string, unknown>, fieldManager?: string): Promise<T> {
    checkTerm(this.term, `patch ${refText(ref)}`);
    return this.inner.patch<T>(ref, patch, fieldManager);
  }

  async patchStatus<T extends KubeObject>(ref: ObjectRef, status: Record<string, unknown>, opts?: { resourceVersion?: string }): Promise<T> {
    checkTerm(this.term, `status patch ${refText(ref)}`);
    return this.inner.patchStatus<T>(ref, status, opts);
  }

  async delete(ref: ObjectRef, opts?: DeleteOptions): Promise<boolean> {
    checkTerm(this.term, `delete ${refText(ref)}`);
    return this.inner.delete(ref, opts);
  }

  async evict(pod: EvictTarget): Promise<boolean> {
    checkTerm(this.term, `evict ${pod.namespace}/${pod.name}`);
    return this.inner.evict(pod);
  }

  async exec(pod: PodContainer, command: string[], timeoutMs?: number): Promise<ExecResult> {
    checkTerm(this.term, `exec in ${pod.namespace}/${pod.name}`);
    return this.inner.exec(pod, command, timeoutMs);
  }
}

/** The clock as controllers see it during a term: a wait ends (rejects) when the term does. */
export function termClock(clock: Clock, term: Term): Clock {
  return {
    now: () => clock.now(),
    sleep: (ms) =>
      new Promise<void>((resolve, reject) => {
        if (term.signal.aborted) return reject(new LeadershipLostError('wait'));
        const onAbort = () => reject(new LeadershipLostError('wait'));
        term.signal.addEventListener('abort', onAbort, { once: true });
        clock.sleep(ms).then(() => {
          term.signal.removeEventListener('abort', onAbort);
          resolve();
        }, reject);
      }),
  };
}
