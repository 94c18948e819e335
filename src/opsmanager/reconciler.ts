// The Ops-manager's reconciler, one per ops-request kind, the same for every
// ops type. Each pass reads the request and the database and does one thing:
//
//   Pending ─ queue (queue.ts, one admission at a time per database) ─ readiness
//     gate ─ the type's start (its plan) ─▶ Progressing
//   Progressing ─ the type's next step, recorded as a condition ─▶ … ─▶ Successful
//   a step that fails (for good, or after spec.maxRetries) ─ the type's rollback,
//     resume ─▶ Failed
//
// Progress lives in status only (conditions, and status.progress for the plan,
// step clocks and retries, checked on every read), so a restarted operator
// resumes at the first unfinished step and nobody but the ops-manager steers it.
import type { KubeObject } from '../kube/api.ts';
import type { NewCondition } from '../kube/conditions.ts';
import { isConditionTrue } from '../kube/conditions.ts';
import { errorText, type ObjectKey, type Reconciler, type Result } from '../kube/controller.ts';
import type { DbObject, OpsObject } from '../api/objects.ts';
import type { Kind } from '../kinds/types.ts';
import { WaitFor } from '../provisioner/context.ts';
import { KeyedLock } from './lock.ts';
import { MAX_RETRIES, OpsStore, parseDuration, readProgress, stepCondition, withCondition } from './ops-status.ts';
import { StepFailed, type OpsScope, type OpsType, type StepScope } from './ops-type.ts';
import { OPS_TYPES } from './ops-types.ts';
import { setPaused } from './pause.ts';
import { releaseOrphanPause } from './orphan-pause.ts';
import { decide, type OpSummary } from './queue.ts';
import { PlanError } from './reconfigure-tls/plan.ts';
import type { RolloutContext } from './rollout.ts';

const DEFAULT_STEP_TIMEOUT_MS = 10 * 60_000;
const TERMINAL = new Set(['Successful', 'Failed', 'Skipped']);
/** Held from admission until the request has ended and cleaned up (see finalize). */
export const OPS_FINALIZER = 'ops.pgtls.dev/rollback';

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
    if (!op) return;
    const phase = op.status?.phase ?? 'Pending';
    const db = await this.ctx.kube.get<DbObject>(this.kind.info.apiVersion, this.kind.info.kind, op.spec.databaseRef.name, key.namespace);
    if (op.metadata.deletionTimestamp) return this.finalize(op, db);
    if (TERMINAL.has(phase)) return this.ended(op);
    if (phase === 'Pending') return this.locks.run(`${key.namespace}/${op.spec.databaseRef.name}`, () => this.admit(op, db));
    if (!db) return this.fail(op, undefined, `database ${key.namespace}/${op.spec.databaseRef.name} not found`);
    const type = this.typeOf(op);
    if (!type) return this.fail(op, db, this.unsupported(op));
    const s = this.scope(op, db);
    try {
      return await type.progress(s);
    } catch (err) {
      if (err instanceof WaitFor) {
        if (err.warning) await this.event(s.op, 'Warning', err.warning, err.what);
        // A wait outside any step's own deadline check (refused material) is bounded by spec.timeout too.
        const overdue = this.overdue(s.op);
        if (overdue) return this.onError(s.op, db, new StepFailed(`${overdue}: ${err.message}`));
        return { requeueAfterMs: err.retryMs };
      }
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
      // Its own status write wakes nobody (ignoreStatusOnly): the clean-up pass comes from here.
      return { requeueAfterMs: 0 };
    }
    const type = this.typeOf(op);
    if (!type) return this.fail(op, undefined, this.unsupported(op));
    if (!db) return this.fail(op, undefined, `spec.databaseRef ${ns}/${op.spec.databaseRef.name}, is invalid or not found`);
    // IfReady waits (stays Pending) until the database is Ready.
    if ((op.spec.apply ?? 'IfReady') === 'IfReady' && db.status?.phase !== 'Ready') return { requeueAfterMs: 5_000 };
    // Before anything pauses the database: deleting the request from now on rolls back and resumes.
    if (!op.metadata.finalizers?.includes(OPS_FINALIZER)) op = await this.patchFinalizers(op, [...(op.metadata.finalizers ?? []), OPS_FINALIZER]);
    const s: OpsScope = { ctx: this.ctx, kind: this.kind, store: this.store, op, db };
    let started: string;
    try {
      started = await type.start(s);
    } catch (err) {
      // Nothing is paused yet: a plan that cannot run, or a last working copy that is not ours, fails at once.
      if (err instanceof PlanError || err instanceof StepFailed) return this.fail(op, undefined, err.message);
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
    const noted = readProgress(s.op, this.ctx.clock.now()).step;
    let started = this.ctx.clock.now();
    if (noted?.name === step) started = noted.startedAt;
    else s.op = await this.store.recordProgress(s.op, { step: { name: step, startedAt: new Date(started).toISOString() } });
    const deadline = started + timeout;
    if (this.ctx.clock.now() > deadline) throw new StepFailed(`step ${step} did not finish within ${s.op.spec.timeout ?? `${timeout / 1000}s`}`);
    return deadline;
  }

  /** Says which step ran past spec.timeout (from its recorded start), if one did. */
  private overdue(op: OpsObject): string | undefined {
    let noted: { name: string; startedAt: number } | undefined;
    try {
      noted = readProgress(op, this.ctx.clock.now()).step;
    } catch {
      return undefined; // a malformed note fails the request where the step reads it
    }
    const timeout = parseDuration(op.spec.timeout, DEFAULT_STEP_TIMEOUT_MS);
    if (!noted || this.ctx.clock.now() <= noted.startedAt + timeout) return undefined;
    return `step ${noted.name} did not finish within ${op.spec.timeout ?? `${timeout / 1000}s`}`;
  }

  // ---- failure ----

  private async onError(op: OpsObject, db: DbObject, err: unknown): Promise<Result | void> {
    let msg = errorText(err);
    let retries = Number.POSITIVE_INFINITY;
    try {
      retries = readProgress(op, this.ctx.clock.now()).retries;
    } catch (bad) {
      // A forged count is no reason to retry: the request fails with both reasons.
      msg += `; ${errorText(bad)}`;
    }
    // Bounded whatever the spec says (admission refuses more, objects from before it may have any number).
    const max = Math.min(Math.max(0, Math.trunc(op.spec.maxRetries ?? 1)), MAX_RETRIES);
    const transient = !(err instanceof StepFailed);
    this.ctx.log.warn({ ops: `${op.metadata.namespace}/${op.metadata.name}`, err: msg, retries, max }, 'step failed');
    await this.event(op, 'Warning', 'Retrying', msg);
    if (transient && retries < max) {
      await this.store.recordProgress(op, { retries: retries + 1 });
      return { requeueAfterMs: 2_000 };
    }
    return this.fail(op, db, msg);
  }

  /**
   * Restores the last working state (the type's rollback), resumes the database, ends Failed with
   * the reason. Asks for one more pass at once, which cleans up (ended()).
   */
  private async fail(op: OpsObject, db: DbObject | undefined, message: string): Promise<Result> {
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
        // Once the phase below is Failed, ended() and the provisioner's orphan check resume it.
        this.ctx.log.warn({ db: `${ref.namespace}/${ref.name}`, err: errorText(err) }, 'could not resume the database yet; retried once the request has ended');
      }
    }
    await this.store.writeStatus(fresh, {
      ...withCondition(fresh, { type: (type ?? this.types[0]!).type, status: 'False', reason: 'Failed', message, observedGeneration: fresh.metadata.generation }, this.now()),
      phase: 'Failed',
    });
    await this.event(fresh, 'Warning', 'Failed', message);
    return { requeueAfterMs: 0 };
  }

  // ---- the end: cleanup, deletion ----

  /**
   * A request that ended: its private copies (the last working TLS material)
   * go, the database is resumed if nothing else holds it (the operator may have
   * died between resuming and recording the phase), and the finalizer goes.
   */
  private async ended(op: OpsObject): Promise<void> {
    await this.deleteOwnedSecrets(op);
    await releaseOrphanPause(this.ctx, this.kind.info, op.metadata.namespace!, op.spec.databaseRef.name);
    if (op.metadata.finalizers?.includes(OPS_FINALIZER)) await this.patchFinalizers(op, op.metadata.finalizers.filter((f) => f !== OPS_FINALIZER));
  }

  /** Deleting a request that is still in progress rolls back and resumes first (never leaves the database Paused). */
  private async finalize(op: OpsObject, db: DbObject | undefined): Promise<void> {
    if (!op.metadata.finalizers?.includes(OPS_FINALIZER)) return;
    if (op.status?.phase === 'Progressing') {
      await this.event(op, 'Warning', 'Deleted', 'deleted while in progress: restoring the last working state and resuming the database');
      await this.fail(op, db, 'the request was deleted while in progress');
    }
    const fresh = (await this.store.get(op.metadata.namespace!, op.metadata.name!)) ?? op;
    await this.ended(fresh);
  }

  /** Secrets this request created: labelled with its name and owned by its uid (a look-alike is not touched). */
  private async deleteOwnedSecrets(op: OpsObject): Promise<void> {
    const ns = op.metadata.namespace!;
    const secrets = await this.ctx.kube.list<KubeObject>('v1', 'Secret', { namespace: ns, labelSelector: { 'ops.kubedb.com/name': op.metadata.name! } });
    for (const sec of secrets) {
      if (op.metadata.uid && sec.metadata!.ownerReferences?.some((r) => r.uid === op.metadata.uid)) await this.ctx.kube.delete({ apiVersion: 'v1', kind: 'Secret', name: sec.metadata!.name!, namespace: ns });
    }
  }

  private patchFinalizers(op: OpsObject, finalizers: string[]): Promise<OpsObject> {
    // Conditional on the version read, so a concurrent finalizer of someone else is never dropped.
    return this.ctx.kube.patch<OpsObject>({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: this.kind.info.opsKind, name: op.metadata.name!, namespace: op.metadata.namespace }, { metadata: { finalizers, resourceVersion: op.metadata.resourceVersion } });
  }

  private async event(op: OpsObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    await this.ctx.events.record({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: this.kind.info.opsKind, metadata: op.metadata }, type, reason, message);
  }
}
