// Lease-based leader election (client-go's algorithm), so two operator
// replicas can run and only one reconciles. Optimistic concurrency on the
// Lease's resourceVersion decides races.
import { isConflict, isNotFound, type KubeClient, type ObjectRef } from './api.ts';
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

export class LeaderElector {
  private stopped = false;
  private leading = false;
  private readonly cfg: Required<LeaderElectionConfig>;
  private readonly ref: ObjectRef;

  constructor(
    private readonly kube: KubeClient,
    cfg: LeaderElectionConfig,
    private readonly clock: Clock = systemClock,
    private readonly log?: Logger,
  ) {
    this.cfg = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...cfg };
    this.ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: cfg.name, namespace: cfg.namespace };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** One attempt to acquire or renew; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { identity, leaseDurationSeconds } = this.cfg;
    const now = this.clock.now();
    const micro = microTime(now);
    let lease: Lease | undefined;
    try {
      lease = await this.kube.get<Lease>(this.ref.apiVersion, this.ref.kind, this.ref.name, this.ref.namespace);
    } catch (err) {
      this.log?.debug({ err: String(err) }, 'reading the leader lease failed; retrying');
      return false;
    }
    if (!lease) {
      try {
        await this.kube.create({
          apiVersion: this.ref.apiVersion,
          kind: this.ref.kind,
          metadata: { name: this.ref.name, namespace: this.ref.namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: micro, renewTime: micro, leaseTransitions: 0 },
        });
        return true;
      } catch (err) {
        // 409: another replica created it first; anything else: try again next period.
        if (!isConflict(err)) this.log?.debug({ err: String(err) }, 'creating the leader lease failed; retrying');
        return false;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 < now;
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
      await this.kube.patch(this.ref, { metadata: { resourceVersion: lease.metadata.resourceVersion }, spec: next });
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
    await onStarted();
    let lastRenew = this.clock.now();
    while (!this.stopped) {
      await this.clock.sleep(this.cfg.retryPeriodMs);
      if (this.stopped) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = this.clock.now();
      } else if (this.clock.now() - lastRenew > this.cfg.renewDeadlineMs) {
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
