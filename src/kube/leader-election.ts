// Lease-based leader election (client-go's algorithm), so two operator
// replicas can run and only one reconciles. Optimistic concurrency on the
// Lease's resourceVersion decides races.
import { k8s, statusCode, type Kube } from './client.ts';

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private stopped = false;
  private leading = false;
  private readonly cfg: Required<LeaderElectionConfig>;

  constructor(kube: Kube, cfg: LeaderElectionConfig) {
    this.api = kube.api(k8s.CoordinationV1Api);
    this.cfg = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...cfg };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** One attempt to acquire or renew; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(now = new Date()): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.cfg;
    const micro = new k8s.V1MicroTime(now.getTime());
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusCode(err) !== 404) return false;
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: micro, renewTime: micro, leaseTransitions: 0 },
          },
        });
        return true;
      } catch {
        return false;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 < now.getTime();
    if (holder && holder !== identity && !expired) return false;
    const takeover = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: micro,
      acquireTime: takeover ? micro : spec.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && holder ? 1 : 0),
    };
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch {
      return false; // 409: somebody else won the race
    }
  }

  /**
   * Blocks until leadership is acquired, calls onStarted, keeps renewing, and
   * calls onStopped if a renewal deadline passes. Returns after stop().
   */
  async run(onStarted: () => Promise<void> | void, onStopped: () => Promise<void> | void): Promise<void> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) break;
      await sleep(this.cfg.retryPeriodMs);
    }
    if (this.stopped) return;
    this.leading = true;
    await onStarted();
    let lastRenew = Date.now();
    while (!this.stopped) {
      await sleep(this.cfg.retryPeriodMs);
      if (this.stopped) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.cfg.renewDeadlineMs) {
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
    const { namespace, name, identity } = this.cfg;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      lease.spec.holderIdentity = undefined;
      lease.spec.renewTime = new k8s.V1MicroTime(0);
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    } catch {
      /* the lease expires on its own */
    }
  }
}
