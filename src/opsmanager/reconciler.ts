// The Ops-manager's reconciler, one per ops-request kind, the same for every
// ops type. Each pass reads the request and the database and does one thing:
//
//   Pending ─ queue (queue.ts, one admission at a time per database) ─ readiness
//     gate ─ the type's start (its plan) ─▶ Progressing
//   Progressing ─ the type's next step, recorded as a condition ─▶ … ─▶ Successful
//   a step that fails (for good, or after spec.maxRetries) ─ the type's rollback,
//     resume ─▶ Failed
//
// Progress lives in status.conditions and annotations only, so a restarted
// operator resumes at the first unfinished step.
import type { NewCondition } from '../kube/conditions.ts';
import { isConditionTrue } from '../kube/conditions.ts';
import { errorText, type ObjectKey, type Reconciler, type Result } from '../kube/controller.ts';
import type { DbObject, OpsObject } from '../api/objects.ts';
import type { Kind } from '../kinds/types.ts';
import { WaitFor } from '../provisioner/context.ts';
import { KeyedLock } from './lock.ts';
import { ANNOTATION, OpsStore, parseDuration, stepCondition, withCondition } from './ops-status.ts';
import { StepFailed, type OpsScope, type OpsType, type StepScope } from './ops-type.ts';
import { OPS_TYPES } from './ops-types.ts';
import { setPaused } from './pause.ts';
import { decide, type OpSummary } from './queue.ts';
import { PlanError } from './reconfigure-tls/plan.ts';
import type { RolloutContext } from './rollout.ts';

const DEFAULT_STEP_TIMEOUT_MS = 10 * 60_000;
const TERMINAL = new Set(['Successful', 'Failed', 'Skipped']);

const summary = (o: OpsObject): OpSummary => ({
  name: o.metadata.name!,
  namespace: o.metadata.namespace!,
  type: o.spec.type,
  phase: o.status?.phase,
  creationTimestamp: String(o.metadata.creationTimestamp),
});

export class OpsReconciler implements Reconciler {
  private readonly store: OpsStore;
  private readonly locks = new KeyedLock();

  constructor(
    private readonly ctx: RolloutContext,
    private readonly kind: Kind,
    private readonly types: readonly OpsType[] = OPS_TYPES,
  ) {
    this.store = new OpsStore(ctx.kube, 'ops.kubedb.com/v1alpha1', kind.info.opsKind);
  }

  async reconcile(key: ObjectKey): Promise<Result | void> {
    const op = await this.store.get(key.namespace, key.name);
    if (!op || op.metadata.deletionTimestamp) return;
    const phase = op.status?.phase ?? 'Pending';
    if (TERMINAL.has(phase)) return;
    const db = await this.ctx.kube.get<DbObject>(this.kind.info.apiVersion, this.kind.info.kind, op.spec.databaseRef.name, key.namespace);
    if (phase === 'Pending') return this.locks.run(`${key.namespace}/${op.spec.databaseRef.name}`, () => this.admit(op, db));
    if (!db) return this.fail(op, undefined, `database ${key.namespace}/${op.spec.databaseRef.name} not found`);
    const type = this.typeOf(op);
    if (!type) return this.fail(op, db, this.unsupported(op));
    const s = this.scope(op, db);
    try {
      return await type.progress(s);
    } catch (err) {
      if (err instanceof WaitFor) return { requeueAfterMs: err.retryMs };
      return this.onError(s.op, db, err);
    }
  }

  private typeOf(op: OpsObject): OpsType | undefined {
    return this.types.find((t) => t.type === op.spec.type);
  }

  private unsupported(op: OpsObject): string {
    return `spec.type: Unsupported value: "${op.spec.type}": this ops-manager runs ${this.types.map((t) => t.type).join(', ')} only`;
  }

  private now(): Date {
    return new Date(this.ctx.clock.now());
  }

  // ---- Pending: queueing, readiness gate, the type's plan ----

  private async admit(op: OpsObject, db: DbObject | undefined): Promise<Result | void> {
    const ns = op.metadata.namespace!;
    const siblings = (await this.store.list(ns)).filter((o) => o.spec.databaseRef.name === op.spec.databaseRef.name);
    const d = decide(summary(op), siblings.map(summary), this.kind.info.opsKind);
    if (d.action === 'wait') return { requeueAfterMs: 5_000 };
    if (d.action === 'skip') {
      await this.store.writeStatus(op, { ...withCondition(op, { type: 'Skipped', status: 'True', reason: 'Skipped', message: d.message }, this.now()), phase: 'Skipped' });
      await this.event(op, 'Normal', 'Skipped', d.message);
      return;
    }
    const type = this.typeOf(op);
    if (!type) return this.fail(op, undefined, this.unsupported(op));
    if (!db) return this.fail(op, undefined, `spec.databaseRef ${ns}/${op.spec.databaseRef.name}, is invalid or not found`);
    // IfReady waits (stays Pending) until the database is Ready.
    if ((op.spec.apply ?? 'IfReady') === 'IfReady' && db.status?.phase !== 'Ready') return { requeueAfterMs: 5_000 };
    const s: OpsScope = { ctx: this.ctx, kind: this.kind, store: this.store, op, db };
    let started: string;
    try {
      started = await type.start(s);
    } catch (err) {
      if (err instanceof PlanError) return this.fail(op, undefined, err.message);
      throw err;
    }
    await this.store.writeStatus(s.op, {
      ...withCondition(s.op, stepCondition(op.spec.type, started, op.metadata.generation), this.now()),
      phase: 'Progressing',
      observedGeneration: op.metadata.generation,
    });
    await this.event(op, 'Normal', 'Starting', `Start processing for ${this.kind.info.opsKind}: ${ns}/${op.metadata.name}`);
    return { requeueAfterMs: 0 };
  }

  // ---- Progressing: what the reconciler gives each step ----

  private scope(op: OpsObject, db: DbObject): StepScope {
    const s: StepScope = {
      ctx: this.ctx,
      kind: this.kind,
      store: this.store,
      op,
      db,
      deadline: (step) => this.deadline(s, step),
      mark: async (c: NewCondition, reason?: string) => {
        s.op = await this.store.writeStatus(s.op, withCondition(s.op, c, this.now()));
        this.ctx.log.info({ ops: `${s.op.metadata.namespace}/${s.op.metadata.name}`, step: c.type }, c.message ?? c.type);
        if (reason) await this.event(s.op, 'Normal', reason, c.message ?? reason);
      },
      event: (type, reason, message) => this.event(s.op, type, reason, message),
    };
    return s;
  }

  /** Fails the step once it has run longer than spec.timeout. */
  private async deadline(s: StepScope, step: string): Promise<number> {
    const timeout = parseDuration(s.op.spec.timeout, DEFAULT_STEP_TIMEOUT_MS);
    const noted = s.op.metadata.annotations?.[ANNOTATION.step];
    let started = this.ctx.clock.now();
    if (noted?.startsWith(`${step}@`)) started = Date.parse(noted.slice(step.length + 1));
    else await this.store.annotate(s.op, { [ANNOTATION.step]: `${step}@${new Date(started).toISOString()}` });
    const deadline = started + timeout;
    if (this.ctx.clock.now() > deadline) throw new StepFailed(`step ${step} did not finish within ${s.op.spec.timeout ?? `${timeout / 1000}s`}`);
    return deadline;
  }

  // ---- failure ----

  private async onError(op: OpsObject, db: DbObject, err: unknown): Promise<Result | void> {
    const msg = errorText(err);
    const retries = Number(op.metadata.annotations?.[ANNOTATION.retries] ?? '0');
    const max = op.spec.maxRetries ?? 1;
    const transient = !(err instanceof StepFailed);
    this.ctx.log.warn({ ops: `${op.metadata.namespace}/${op.metadata.name}`, err: msg, retries, max }, 'step failed');
    await this.event(op, 'Warning', 'Retrying', msg);
    if (transient && retries < max) {
      await this.store.annotate(op, { [ANNOTATION.retries]: String(retries + 1) });
      return { requeueAfterMs: 2_000 };
    }
    return this.fail(op, db, msg);
  }

  /** Restores the last working state (the type's rollback), resumes the database, ends Failed with the reason. */
  private async fail(op: OpsObject, db: DbObject | undefined, message: string): Promise<void> {
    this.ctx.log.warn({ ops: `${op.metadata.namespace}/${op.metadata.name}`, err: message }, 'failing the request; restoring the last working state');
    const fresh = (await this.store.get(op.metadata.namespace!, op.metadata.name!)) ?? op;
    const type = this.typeOf(fresh);
    if (db && isConditionTrue(fresh.status?.conditions, 'DatabasePauseSucceeded')) {
      const s = this.scope(fresh, db);
      try {
        if (type) await type.rollback(s);
        await this.event(fresh, 'Normal', 'RolledBack', 'restored the last working TLS configuration');
      } catch (err) {
        message += `; restoring the last working TLS configuration also failed: ${errorText(err)}`;
      }
      const ref = { apiVersion: this.kind.info.apiVersion, kind: this.kind.info.kind, name: db.metadata.name!, namespace: db.metadata.namespace };
      try {
        await setPaused(this.ctx.kube, ref, false, `${this.kind.info.opsKind} ${fresh.metadata.name}`);
      } catch (err) {
        // The webhook resumes the database too once the phase below is Failed.
        this.ctx.log.warn({ db: `${ref.namespace}/${ref.name}`, err: errorText(err) }, 'could not resume the database; the webhook will');
      }
    }
    await this.store.writeStatus(fresh, {
      ...withCondition(fresh, { type: (type ?? this.types[0]!).type, status: 'False', reason: 'Failed', message, observedGeneration: fresh.metadata.generation }, this.now()),
      phase: 'Failed',
    });
    await this.event(fresh, 'Warning', 'Failed', message);
  }

  private async event(op: OpsObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    await this.ctx.events.record({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: this.kind.info.opsKind, metadata: op.metadata }, type, reason, message);
  }
}
