// Lease-based leader election (client-go's algorithm), so two operator
// replicas can run and only one reconciles. Optimistic concurrency on the
// Lease's resourceVersion decides races. As in client-go, time is local:
// another holder's lease expires leaseDuration after *we* last saw it change
// (never from its renewTime, written by another clock), every API call of a
// renewal is bounded by the renew deadline, and our own term is valid only
// until renew deadline (< lease duration) after the start of our last
// successful renewal — so it ends before anyone else can acquire. The term
// (fence.ts) fences writes and waits.
import { isConflict, isNotFound, type KubeClient, type ObjectRef } from './api.ts';
import type { Term } from './fence.ts';
import { microTime, systemClock, type Clock } from '../util/clock.ts';
import type { Logger } from '../observability/logger.ts';

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** A call that did not answer within its budget (real time: the request may hang on a dead connection). */
async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class LeaderElector {
  private stopped = false;
  private leading = false;
  /** The lease as we last saw it and when (local clock): expiry is measured from this. */
  private observed?: { version: string; at: number };
  /** Our term is valid until this local time (start of the last successful renewal + renew deadline). */
  private validUntil = 0;
  private termCtl?: AbortController;
  private readonly cfg: Required<LeaderElectionConfig>;
  private readonly ref: ObjectRef;

  constructor(
    private readonly kube: KubeClient,
    cfg: LeaderElectionConfig,
    private readonly clock: Clock = systemClock,
    private readonly log?: Logger,
  ) {
    this.cfg = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...cfg };
    if (this.cfg.renewDeadlineMs >= this.cfg.leaseDurationSeconds * 1000) {
      throw new Error(`renewDeadlineMs (${this.cfg.renewDeadlineMs}) must be shorter than leaseDurationSeconds (${this.cfg.leaseDurationSeconds} s): a partitioned leader must stop before another can take over`);
    }
    this.ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: cfg.name, namespace: cfg.namespace };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** True while this replica leads and its last renewal is younger than the renew deadline (local clock). */
  holdsLease(): boolean {
    return this.leading && this.clock.now() < this.validUntil;
  }

  /** The current term (while leading): its signal aborts when leadership ends, `holds()` fences writes. */
  term(): Term {
    const ctl = this.termCtl;
    if (!ctl) throw new Error('not leading');
    return {
      signal: ctl.signal,
      holds: () => !ctl.signal.aborted && this.holdsLease(),
      end: (reason) => {
        if (ctl.signal.aborted) return;
        this.log?.error({ reason }, 'leadership term ended');
        ctl.abort(new Error(reason));
      },
    };
  }

  /**
   * One attempt to acquire or renew; true when we hold the lease afterwards.
   * `budgetMs` bounds the attempt's API calls (default: the renew deadline).
   */
  async tryAcquireOrRenew(budgetMs = this.cfg.renewDeadlineMs): Promise<boolean> {
    const { identity, leaseDurationSeconds } = this.cfg;
    const now = this.clock.now();
    const micro = microTime(now);
    const call = <T>(p: Promise<T>, what: string) => bounded(p, Math.max(1, budgetMs), what);
    let lease: Lease | undefined;
    try {
      lease = await call(this.kube.get<Lease>(this.ref.apiVersion, this.ref.kind, this.ref.name, this.ref.namespace), 'reading the lease');
    } catch (err) {
      this.log?.debug({ err: String(err) }, 'reading the leader lease failed; retrying');
      return false;
    }
    if (!lease) {
      try {
        await call(
          this.kube.create({
            apiVersion: this.ref.apiVersion,
            kind: this.ref.kind,
            metadata: { name: this.ref.name, namespace: this.ref.namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: micro, renewTime: micro, leaseTransitions: 0 },
          }),
          'creating the lease',
        );
        this.validUntil = now + this.cfg.renewDeadlineMs;
        return true;
      } catch (err) {
        // 409: another replica created it first; anything else: try again next period.
        if (!isConflict(err)) this.log?.debug({ err: String(err) }, 'creating the leader lease failed; retrying');
        return false;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    // Expiry by our clock: from when we saw this version of the lease first.
    const version = `${lease.metadata.resourceVersion ?? ''}/${holder ?? ''}/${spec.renewTime ?? ''}`;
    if (this.observed?.version !== version) this.observed = { version, at: now };
    const expired = this.observed.at + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 <= now;
    if (holder && holder !== identity && !expired) return false;
    const takeover = holder !== identity;
    const next: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: micro,
      acquireTime: takeover ? micro : spec.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && holder ? 1 : 0),
    };
    try {
      await call(this.kube.patch(this.ref, { metadata: { resourceVersion: lease.metadata.resourceVersion }, spec: next }), 'renewing the lease');
      this.validUntil = now + this.cfg.renewDeadlineMs;
      return true;
    } catch (err) {
      // 409: somebody else won the race; 404: the lease was deleted, recreated next period.
      if (!isConflict(err) && !isNotFound(err)) this.log?.debug({ err: String(err) }, 'renewing the leader lease failed; retrying');
      return false;
    }
  }

  /**
   * Blocks until leadership is acquired, calls onStarted, keeps renewing, and
   * calls onStopped if a renewal deadline passes. Returns after stop().
   */
  async run(onStarted: () => Promise<void> | void, onStopped: () => Promise<void> | void): Promise<void> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) break;
      await this.clock.sleep(this.cfg.retryPeriodMs);
    }
    if (this.stopped) return;
    this.leading = true;
    this.termCtl = new AbortController();
    await onStarted();
    while (!this.stopped) {
      await this.clock.sleep(this.cfg.retryPeriodMs);
      if (this.stopped) break;
      // The attempt may use what is left of the term; a hung call cannot outlive it.
      const renewed = this.holdsLease() && (await this.tryAcquireOrRenew(this.validUntil - this.clock.now()));
      if (!renewed && !this.holdsLease()) {
        // End the term first: in-flight work stops at its next write or wait.
        this.term().end('the lease was not renewed within the renew deadline');
        this.leading = false;
        await onStopped();
        return;
      }
    }
  }

  /** Stops and releases the lease so a standby can take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (!this.leading) return;
    this.termCtl?.abort(new Error('stopping'));
    this.leading = false;
    try {
      const lease = await this.kube.get<Lease>(this.ref.apiVersion, this.ref.kind, this.ref.name, this.ref.namespace);
      if (lease?.spec?.holderIdentity !== this.cfg.identity) return;
      await this.kube.patch(this.ref, {
        metadata: { resourceVersion: lease.metadata.resourceVersion },
        spec: { holderIdentity: null, renewTime: microTime(0) },
      });
    } catch (err) {
      // Releasing is a courtesy: the lease expires on its own after leaseDurationSeconds.
      this.log?.debug({ err: String(err) }, 'releasing the leader lease failed; it expires on its own');
    }
  }
}
