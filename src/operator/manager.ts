// The operator process: one Kube client, leader election, and the registered
// controllers (provisioner and ops-manager per engine), started only while
// this replica leads, so two replicas can run side by side.
import { SharedInformers } from '../kube/shared-informers.ts';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeClient } from '../kube/api.ts';
import { Kube } from '../kube/client.ts';
import type { HttpStats } from '../kube/http-library.ts';
import { SkipUnchangedApply } from '../kube/skip-unchanged-apply.ts';
import type { Controller } from '../kube/controller.ts';
import { EventRecorder } from '../kube/events.ts';
import { LeaderElector } from '../kube/leader-election.ts';
import { FencedKube, termClock, type Term } from '../kube/fence.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import type { ProvisionerContext } from '../provisioner/context.ts';
import { systemClock, type Clock } from '../util/clock.ts';

/** How much the operator does at once, and how often a database at rest is looked at again. */
export interface Tuning {
  /** Workers per database kind's provisioner: databases reconciled at once. */
  workers: number;
  /** Workers per ops-request kind: requests advanced at once (a rollout waiting on pods requeues, it holds none). */
  opsWorkers: number;
  /** A Ready database is reconciled again (health, drift) after this long without an event. */
  resyncMs: number;
}

export const DEFAULT_TUNING: Tuning = { workers: 4, opsWorkers: 16, resyncMs: 30_000 };

/** What every controller gets: one context for the provisioners and the ops-manager. */
export type OperatorContext = ProvisionerContext & {
  tuning?: Partial<Tuning>;
  /** The term's informers, shared by its controllers (made per term, so a new leader lists afresh). */
  informers?: SharedInformers;
};

/** The tuning in force: the context's, defaults for the rest. */
export function tuningOf(ctx: OperatorContext): Tuning {
  return { ...DEFAULT_TUNING, ...Object.fromEntries(Object.entries(ctx.tuning ?? {}).filter(([, v]) => v !== undefined)) };
}

/** Builds one controller; controllers are created per leadership term. */
export type ControllerFactory = (ctx: OperatorContext) => Controller;

export interface ManagerOptions {
  /** Absent: the in-cluster ServiceAccount. */
  kubeconfig?: string;
  /** The API client; by default one built from `kubeconfig` (unit tests pass the fake). */
  kube?: KubeClient;
  clock?: Clock;
  leaderElection: boolean;
  leaseNamespace: string;
  leaseName?: string;
  identity?: string;
  controllers: ControllerFactory[];
  log?: Logger;
  tuning?: Partial<Tuning>;
  /** Lease timings (tests shorten them). */
  leaseTiming?: { leaseDurationSeconds?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** Called when this replica starts (true) or stops (false) leading; true at once without election. */
  onLeading?: (leading: boolean) => Promise<void> | void;
}

export class Manager {
  private readonly ctx: OperatorContext;
  private readonly client: SkipUnchangedApply;
  /** Connections opened to the API server and requests sent over them (the real client only). */
  private readonly http?: HttpStats;
  private readonly elector?: LeaderElector;
  private running: Controller[] = [];
  private stopping = false;
  /** Set once onLeading(true) returned, so readiness never reports a leader still taking over. */
  private tookOver = false;
  readonly identity: string;

  constructor(private readonly opts: ManagerOptions) {
    // Applies that would change nothing are not sent: a database at rest costs no writes.
    const base = opts.kube ?? Kube.fromFile(opts.kubeconfig);
    if (base instanceof Kube) this.http = base.http.stats;
    const kube = new SkipUnchangedApply(base);
    this.client = kube;
    const log = opts.log ?? createLogger('pgtls-operator');
    const clock = opts.clock ?? systemClock;
    this.ctx = { kube, log, clock, events: new EventRecorder(kube, 'pgtls-operator', hostname(), clock, log), tuning: opts.tuning };
    // Unique per process, as client-go's (hostname_uuid): a pid is reused, in a container always 1, and a
    // restarted operator that took its dead predecessor's identity would hold its lease at once.
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    if (opts.leaderElection) {
      this.elector = new LeaderElector(
        kube,
        { namespace: opts.leaseNamespace, name: opts.leaseName ?? 'pgtls-operator', identity: this.identity, ...opts.leaseTiming },
        clock,
        log,
      );
    }
  }

  /** What the operator did and has waiting: requests by verb, applies sent and skipped, work-queue depth per controller. */
  stats(): { requests: Record<string, number>; requestsByKind: Record<string, number>; applies: { applied: number; skipped: number }; queues: Record<string, { queued: number; active: number }>; http?: HttpStats } {
    const kube = this.client;
    return {
      ...(this.http ? { http: { ...this.http } } : {}),
      requests: { ...kube.requests },
      requestsByKind: { ...kube.requestsByKind },
      applies: { ...kube.stats },
      queues: Object.fromEntries(this.running.map((c) => [c.name, c.depth])),
    };
  }

  get context(): OperatorContext {
    return this.ctx;
  }

  /**
   * What controllers get during a term: writes, execs and Events fenced by
   * the term, waits that end with it (kube/fence.ts). Without election, the
   * plain context.
   */
  private termContext(term: Term | undefined): OperatorContext {
    if (!term) return { ...this.ctx, informers: new SharedInformers(this.ctx.kube) };
    const kube = new FencedKube(this.ctx.kube, term);
    const clock = termClock(this.ctx.clock, term);
    return { ...this.ctx, kube, clock, events: new EventRecorder(kube, 'pgtls-operator', hostname(), clock, this.ctx.log), informers: new SharedInformers(kube) };
  }

  private async startControllers(term?: Term): Promise<void> {
    this.ctx.log.info({ controllers: this.opts.controllers.length }, 'starting controllers');
    const ctx = this.termContext(term);
    this.running = this.opts.controllers.map((f) => f(ctx));
    for (const c of this.running) await c.start();
  }

  private async stopControllers(): Promise<void> {
    const cs = this.running;
    this.running = [];
    for (const c of cs) await c.stop();
  }

  /** Runs until stop(); resolves when the operator has shut down. */
  async run(): Promise<void> {
    if (!this.elector) {
      await this.startControllers();
      await this.opts.onLeading?.(true);
      return;
    }
    await this.elector.run(
      async () => {
        this.ctx.log.info({ identity: this.identity }, 'became leader');
        await this.startControllers(this.elector!.term());
        await this.opts.onLeading?.(true);
        this.tookOver = true;
      },
      async () => {
        this.tookOver = false;
        this.ctx.log.error('lost leadership; stopping controllers');
        await this.opts.onLeading?.(false);
        await this.stopControllers();
        if (!this.stopping) process.exitCode = 1;
      },
    );
  }

  /** Leads and has finished taking over (controllers started, onLeading done): what readiness reports. */
  get isLeader(): boolean {
    return this.elector ? this.tookOver && this.elector.isLeader : true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.stopControllers();
    await this.elector?.stop();
  }
}
