// The Ops-manager's ReconfigureTLS state machine, one for every kind. Each
// pass reads the request and the database, runs the first unfinished step and
// records it in status.conditions, so a restarted operator resumes where the
// last one stopped. Steps are idempotent: apply is server-side apply, reloads
// are repeated until the wire shows the expected certificate.
//
//   Pending ─queue─▶ Progressing: DatabasePauseSucceeded → [IssueCertificatesSucceeded]
//     → [CertificateSynced] → [TrustBundleUpdated] → UpdatePetSets → ReloadPods|RestartPods
//     → [DropOldCA] → UpdateDatabase → resume → Successful
//   any failure (after maxRetries) → restore the last working state, resume → Failed
import { k8s, statusCode } from '../kube/client.ts';
import { isConditionTrue, removeCondition, setCondition, type Condition } from '../kube/conditions.ts';
import { errorText, type ObjectKey, type Reconciler, type Result } from '../kube/controller.ts';
import { bundleFingerprints, mergeCaBundles } from '../certs/index.ts';
import { WaitFor, type ProvisionerContext } from '../provisioner/context.ts';
import { readSecret } from '../provisioner/objects.ts';
import type { DbObject } from '../provisioner/reconciler.ts';
import { stagedTlsSecretName, type StagedTls } from '../provisioner/specs/tls-staging.ts';
import { base64Values } from '../provisioner/specs/secrets.ts';
import { findOpsAdapter, type OpsAdapter } from './adapter.ts';
import { ANNOTATION, OpsStore, parseDuration, stepCondition, subStep, withCondition, type OpsObject } from './ops-status.ts';
import { decide } from './queue.ts';
import { expectFor, rollPods, applyState, type PodResult } from './rollout.ts';
import { planTls, PlanError, type TlsPlan } from './tls-plan.ts';
import { metrics } from '../observability/metrics.ts';

const DEFAULT_STEP_TIMEOUT_MS = 10 * 60_000;
const TERMINAL = new Set(['Successful', 'Failed', 'Skipped']);

interface StoredPlan extends TlsPlan {
  from: TlsPlan['next'];
}

class StepFailed extends Error {}

export class OpsReconciler implements Reconciler {
  private readonly store: OpsStore;
  private readonly locks = new KeyedLock();

  constructor(
    private readonly ctx: ProvisionerContext,
    private readonly a: OpsAdapter,
  ) {
    this.store = new OpsStore(ctx.kube, 'ops.kubedb.com/v1alpha1', a.info.opsKind, a.info.opsPlural);
  }

  private get kindName(): string {
    return this.a.info.kind;
  }

  async reconcile(key: ObjectKey): Promise<Result | void> {
    const op = await this.store.get(key.namespace, key.name);
    if (!op || op.metadata.deletionTimestamp) return;
    const phase = op.status?.phase ?? 'Pending';
    if (TERMINAL.has(phase)) return;
    const db = await this.ctx.kube.get<DbObject>(this.a.info.apiVersion, this.a.info.kind, op.spec.databaseRef.name, key.namespace);
    // One admission at a time per database (KubeDB's try-lock), so two workers
    // never both see "nothing Progressing" and start together.
    if (phase === 'Pending' || phase === '') return this.locks.run(`${key.namespace}/${op.spec.databaseRef.name}`, () => this.admit(op, db));
    if (!db) return this.fail(op, undefined, `database ${key.namespace}/${op.spec.databaseRef.name} not found`);
    try {
      return await this.progress(op, db);
    } catch (err) {
      if (err instanceof WaitFor) return { requeueAfterMs: err.retryMs };
      return this.onError(op, db, err);
    }
  }

  // ---- Pending: queueing, readiness gate, plan ----

  private async admit(op: OpsObject, db: DbObject | undefined): Promise<Result | void> {
    const ns = op.metadata.namespace!;
    const siblings = (await this.store.list(ns)).filter((o) => o.spec.databaseRef.name === op.spec.databaseRef.name);
    const d = decide(
      { name: op.metadata.name!, namespace: ns, type: op.spec.type, phase: op.status?.phase, creationTimestamp: String(op.metadata.creationTimestamp) },
      siblings.map((o) => ({ name: o.metadata.name!, namespace: ns, type: o.spec.type, phase: o.status?.phase, creationTimestamp: String(o.metadata.creationTimestamp) })),
      this.a.info.opsKind,
    );
    if (d.action === 'wait') return { requeueAfterMs: 5_000 };
    if (d.action === 'skip') {
      await this.store.writeStatus(op, { ...withCondition(op, { type: 'Skipped', status: 'True', reason: 'Skipped', message: d.message }), phase: 'Skipped' });
      await this.event(op, 'Normal', 'Skipped', d.message);
      return;
    }
    if (op.spec.type !== 'ReconfigureTLS') {
      return this.fail(op, undefined, `spec.type: Unsupported value: "${op.spec.type}": this ops-manager runs ReconfigureTLS only`);
    }
    if (!db) return this.fail(op, undefined, `spec.databaseRef ${ns}/${op.spec.databaseRef.name}, is invalid or not found`);
    // IfReady waits (stays Pending) until the database is Ready.
    if ((op.spec.apply ?? 'IfReady') === 'IfReady' && db.status?.phase !== 'Ready') return { requeueAfterMs: 5_000 };
    let plan: TlsPlan;
    try {
      plan = planTls(this.a.dbTls(db), (op.spec.tls ?? {}) as Parameters<typeof planTls>[1], this.a.defaultAuth(db));
    } catch (err) {
      if (err instanceof PlanError) return this.fail(op, undefined, err.message);
      throw err;
    }
    const stored: StoredPlan = { ...plan, from: this.a.dbTls(db) };
    await this.store.annotate(op, { [ANNOTATION.plan]: JSON.stringify(stored) });
    await this.saveLastWorking(op, db);
    await this.store.writeStatus(op, {
      ...withCondition(op, stepCondition('ReconfigureTLS', `${this.kindName} ops-request has started to reconfigure tls for ${this.kindName} nodes`, op.metadata.generation)),
      phase: 'Progressing',
      observedGeneration: op.metadata.generation,
    });
    await this.event(op, 'Normal', 'Starting', `Start processing for ${this.a.info.opsKind}: ${ns}/${op.metadata.name}`);
    return { requeueAfterMs: 0 };
  }

  /** The staged TLS secret as it is before anything changes: what a rollback restores. */
  private lastWorkingName(op: OpsObject): string {
    return `${op.metadata.name}-last-working`;
  }

  private async saveLastWorking(op: OpsObject, db: DbObject): Promise<void> {
    const current = (await readSecret(this.ctx.kube, db.metadata.namespace!, stagedTlsSecretName(db.metadata.name!))) ?? {};
    try {
      await this.ctx.kube.objects.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: this.lastWorkingName(op),
          namespace: op.metadata.namespace,
          labels: { 'ops.kubedb.com/name': op.metadata.name!, 'ops.kubedb.com/kind': this.a.info.opsKind },
          ownerReferences: [{ apiVersion: 'ops.kubedb.com/v1alpha1', kind: this.a.info.opsKind, name: op.metadata.name!, uid: op.metadata.uid!, controller: true }],
        },
        type: 'Opaque',
        data: base64Values(current),
      } as k8s.KubernetesObject);
    } catch (err) {
      if (statusCode(err) !== 409) throw err; // saved by an earlier pass: keep the first copy
    }
  }

  private async lastWorking(op: OpsObject): Promise<StagedTls | null> {
    const s = await readSecret(this.ctx.kube, op.metadata.namespace!, this.lastWorkingName(op));
    return s && s['server.crt'] ? (s as unknown as StagedTls) : null;
  }

  private plan(op: OpsObject): StoredPlan {
    const raw = op.metadata.annotations?.[ANNOTATION.plan];
    if (!raw) throw new StepFailed('the request has no recorded plan');
    return JSON.parse(raw) as StoredPlan;
  }

  // ---- Progressing ----

  private done(op: OpsObject, type: string): boolean {
    return isConditionTrue(op.status?.conditions, type);
  }

  private async mark(op: OpsObject, c: Condition, reason?: string): Promise<OpsObject> {
    const next = await this.store.writeStatus(op, withCondition(op, c));
    metrics.opsStep(this.a.info.opsKind, op, c.type);
    this.ctx.log.info({ ops: `${op.metadata.namespace}/${op.metadata.name}`, step: c.type }, c.message ?? c.type);
    if (reason) await this.event(op, 'Normal', reason, c.message ?? reason);
    return next;
  }

  /** Fails the step once it has run longer than spec.timeout. */
  private async deadline(op: OpsObject, step: string): Promise<number> {
    const timeout = parseDuration(op.spec.timeout, DEFAULT_STEP_TIMEOUT_MS);
    const noted = op.metadata.annotations?.[ANNOTATION.step];
    let started = Date.now();
    if (noted?.startsWith(`${step}@`)) started = Date.parse(noted.slice(step.length + 1));
    else await this.store.annotate(op, { [ANNOTATION.step]: `${step}@${new Date(started).toISOString()}` });
    const deadline = started + timeout;
    if (Date.now() > deadline) throw new StepFailed(`step ${step} did not finish within ${op.spec.timeout ?? `${timeout / 1000}s`}`);
    return deadline;
  }

  private async progress(op: OpsObject, db: DbObject): Promise<Result | void> {
    const plan = this.plan(op);
    const gen = op.metadata.generation;
    const planned = this.a.planned(db, plan.next);

    if (!this.done(op, 'DatabasePauseSucceeded')) {
      await this.event(op, 'Normal', 'Starting', `Pausing ${this.kindName} database: ${db.metadata.namespace}/${db.metadata.name}`);
      await this.setPaused(db, true, op);
      await this.mark(op, stepCondition('DatabasePauseSucceeded', 'Successfully paused database', gen), 'Successful');
      return { requeueAfterMs: 0 };
    }

    if (plan.rotate && !this.done(op, 'IssueCertificatesSucceeded')) {
      await this.deadline(op, 'IssueCertificatesSucceeded');
      await this.markIssuing(op, planned);
      await this.mark(op, stepCondition('IssueCertificatesSucceeded', 'successfully add issuing condition to all the certificates', gen), 'IssueCertificatesSucceeded');
      return { requeueAfterMs: 0 };
    }

    if (plan.operation !== 'remove' && !this.done(op, 'CertificateSynced')) {
      const deadline = await this.deadline(op, 'CertificateSynced');
      const synced = await this.syncCertificates(op, planned, deadline);
      op = synced.op;
      if (!synced.ok) return { requeueAfterMs: 1_000 };
      await this.mark(op, stepCondition('CertificateSynced', 'Successfully synced all certificates', gen), 'CertificateSynced');
      return { requeueAfterMs: 0 };
    }

    const last = await this.lastWorking(op);
    const target = plan.operation === 'remove' ? null : await this.a.provisioner.stage!(this.ctx, planned);
    if (target === undefined) throw new StepFailed('the planned database has no TLS material');
    const caChange = !!(last && target) && !sameCas(last['ca.crt'], target['ca.crt']);
    const reload = this.a.path === 'reload';

    // 1. With a new CA, first make every server trust both CAs while serving the old certificate.
    if (caChange && reload && !this.done(op, 'TrustBundleUpdated')) {
      const deadline = await this.deadline(op, 'TrustBundleUpdated');
      const trustBoth = withTrust(last!, target!);
      await applyState(this.ctx, this.a, this.a.planned(db, plan.from), trustBoth);
      op = await this.roll(op, db, 'TrustBundleUpdated', expectFor(trustBoth), deadline, 'reload');
      await this.refreshDependents(db, deadline);
      await this.mark(op, stepCondition('TrustBundleUpdated', 'every server, and every pooler in front of it, trusts the old and the new CA', gen), 'TrustBundleUpdated');
      return { requeueAfterMs: 0 };
    }

    // 2. Serve the new state (still trusting the old CA during a CA change).
    const serve = target && caChange && reload ? withTrust(target, last!) : target;
    if (!this.done(op, 'UpdatePetSets')) {
      await this.deadline(op, 'UpdatePetSets');
      await applyState(this.ctx, this.a, planned, serve);
      await this.mark(op, stepCondition('UpdatePetSets', `successfully reconciled the ${this.kindName} with TLS`, gen), 'UpdatePetSets');
      return { requeueAfterMs: 0 };
    }
    const podStep = reload ? 'ReloadPods' : 'RestartPods';
    if (!this.done(op, podStep)) {
      const deadline = await this.deadline(op, podStep);
      await applyState(this.ctx, this.a, planned, serve);
      op = await this.roll(op, db, podStep, expectFor(serve), deadline, this.a.path);
      const msg = reload ? `Successfully reloaded ${this.kindName} pods; each serves the new TLS state` : `Successfully Restarted ${this.kindName} pods`;
      await this.mark(op, stepCondition(podStep, msg, gen), podStep);
      return { requeueAfterMs: 0 };
    }

    // 3. Drop the old CA once nothing presents a certificate from it.
    if (caChange && reload && !this.done(op, 'DropOldCA')) {
      const deadline = await this.deadline(op, 'DropOldCA');
      await applyState(this.ctx, this.a, planned, target);
      op = await this.roll(op, db, 'DropOldCA', expectFor(target), deadline, 'reload');
      await this.refreshDependents(db, deadline);
      await this.mark(op, stepCondition('DropOldCA', 'the old CA is no longer trusted', gen), 'DropOldCA');
      return { requeueAfterMs: 0 };
    }

    if (!this.done(op, 'UpdateDatabase')) {
      await this.patchDbSpec(db, this.a.specPatch(plan.next));
      // Poolers in front of a backend that turned TLS on or off follow now, not at their next resync.
      if (plan.operation === 'add' || plan.operation === 'remove') {
        const fresh = await this.ctx.kube.get<DbObject>(this.a.info.apiVersion, this.a.info.kind, db.metadata.name!, db.metadata.namespace);
        if (fresh) await this.refreshDependents(fresh, Date.now() + 60_000);
      }
      await this.mark(op, stepCondition('UpdateDatabase', `Successfully updated ${this.kindName}`, gen), 'UpdateDatabase');
      return { requeueAfterMs: 0 };
    }

    await this.event(op, 'Normal', 'Starting', `Resuming ${this.kindName} database: ${db.metadata.namespace}/${db.metadata.name}`);
    await this.setPaused(db, false, op);
    await this.event(op, 'Normal', 'Successful', `Successfully resumed ${this.kindName} database: ${db.metadata.namespace}/${db.metadata.name} for ${this.a.info.opsKind}: ${op.metadata.name}`);
    await this.store.writeStatus(op, { ...withCondition(op, stepCondition('Successful', `Successfully updated ${this.kindName} TLS`, gen)), phase: 'Successful' });
    metrics.opsStep(this.a.info.opsKind, op, 'Successful');
    await this.store.annotate(op, { [ANNOTATION.step]: null });
  }

  /** Runs the pods through a state, recording a sub-step per pod (which path it took, what it serves). */
  private async roll(op: OpsObject, db: DbObject, step: string, e: ReturnType<typeof expectFor>, deadline: number, path: 'reload' | 'restart'): Promise<OpsObject> {
    const prefix = `${path === 'reload' ? 'ReloadPod' : 'RestartPod'}${step === 'ReloadPods' || step === 'RestartPods' ? '' : `-${step}`}`;
    const done = new Set(
      (op.status?.conditions ?? []).filter((c) => c.type.startsWith(`${prefix}--`) && c.status === 'True').map((c) => c.type.slice(prefix.length + 2)),
    );
    let current = op;
    await rollPods(this.ctx, this.a, db, e, deadline, path, done, async (r: PodResult) => {
      current = await this.store.writeStatus(
        current,
        withCondition(current, subStep(prefix, `${path} pod`, true, r.pod, `took ${r.ms}ms; serves ${r.served}`)),
      );
    });
    return current;
  }

  /**
   * Poolers in front of this database re-render their backend trust (read from
   * this database's staged bundle) and take it: PgBouncer by reload; Pgpool
   * re-reads its CA file for every new backend connection, so it needs nothing.
   */
  private async refreshDependents(db: DbObject, deadline: number): Promise<void> {
    for (const dep of (await this.a.dependents?.(this.ctx.kube, db)) ?? []) {
      const da = findOpsAdapter(dep.kind!);
      if (!da || isConditionTrue(dep.status?.conditions, 'Paused')) continue;
      try {
        await da.provisioner.apply(this.ctx, dep);
      } catch (err) {
        if (err instanceof WaitFor) continue;
        throw err;
      }
      if (da.path !== 'reload') continue;
      const staged = await readSecret(this.ctx.kube, dep.metadata.namespace!, stagedTlsSecretName(dep.metadata.name!));
      const e = expectFor(staged?.['server.crt'] ? (staged as unknown as StagedTls) : null);
      await rollPods(this.ctx, da, dep, e, deadline, 'reload', new Set(), async () => undefined);
      this.ctx.log.info({ db: `${db.metadata.namespace}/${db.metadata.name}`, dependent: `${dep.kind} ${dep.metadata.namespace}/${dep.metadata.name}` }, 'dependent trusts the new backend CA state');
    }
  }

  private async markIssuing(op: OpsObject, planned: DbObject): Promise<void> {
    const custom = this.ctx.kube.api(k8s.CustomObjectsApi);
    const ns = op.metadata.namespace!;
    const revisions: Record<string, number> = op.metadata.annotations?.[ANNOTATION.revisions]
      ? JSON.parse(op.metadata.annotations[ANNOTATION.revisions]!)
      : {};
    const certs = this.a.certificates(planned);
    if (!op.metadata.annotations?.[ANNOTATION.revisions]) {
      for (const c of certs) {
        const got = await this.ctx.kube.get<k8s.KubernetesObject & { status?: { revision?: number } }>('cert-manager.io/v1', 'Certificate', c.metadata!.name!, ns);
        revisions[c.metadata!.name!] = got?.status?.revision ?? 0;
      }
      await this.store.annotate(op, { [ANNOTATION.revisions]: JSON.stringify(revisions) });
    }
    for (const c of certs) {
      const got = await this.ctx.kube.get<k8s.KubernetesObject & { status?: { revision?: number; conditions?: Condition[] } }>('cert-manager.io/v1', 'Certificate', c.metadata!.name!, ns);
      if (!got) continue;
      if ((got.status?.revision ?? 0) > (revisions[c.metadata!.name!] ?? 0)) continue; // already re-issued
      if (isConditionTrue(got.status?.conditions, 'Issuing')) continue;
      // What `cmctl renew` does: cert-manager re-issues a Certificate whose Issuing condition is True.
      await custom.patchNamespacedCustomObjectStatus(
        {
          group: 'cert-manager.io',
          version: 'v1',
          namespace: ns,
          plural: 'certificates',
          name: c.metadata!.name!,
          body: {
            status: {
              conditions: setCondition(got.status?.conditions, {
                type: 'Issuing',
                status: 'True',
                reason: 'ManuallyTriggered',
                message: `Certificate re-issuance manually triggered by ${this.a.info.opsKind} ${op.metadata.name}`,
              }),
            },
          },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    }
  }

  /** Applies the planned Certificates and waits for cert-manager: Ready, not Issuing, current generation, re-issued when rotating. */
  private async syncCertificates(op: OpsObject, planned: DbObject, deadline: number): Promise<{ ok: boolean; op: OpsObject }> {
    if (Date.now() > deadline) throw new StepFailed('certificates were not issued in time');
    const ns = op.metadata.namespace!;
    const revisions: Record<string, number> = JSON.parse(op.metadata.annotations?.[ANNOTATION.revisions] ?? '{}');
    let allOk = true;
    let conds = op.status?.conditions ?? [];
    for (const c of this.a.certificates(planned)) {
      await this.ctx.kube.apply(c);
      const got = await this.ctx.kube.get<k8s.KubernetesObject & { metadata: k8s.V1ObjectMeta; status?: { revision?: number; conditions?: (Condition & { observedGeneration?: number })[] } }>(
        'cert-manager.io/v1',
        'Certificate',
        c.metadata!.name!,
        ns,
      );
      const ready = got?.status?.conditions?.find((x) => x.type === 'Ready');
      const readyOk = ready?.status === 'True' && ready.observedGeneration === got?.metadata.generation;
      const issuing = isConditionTrue(got?.status?.conditions, 'Issuing');
      const reissued = revisions[c.metadata!.name!] === undefined || (got?.status?.revision ?? 0) > revisions[c.metadata!.name!]!;
      conds = setCondition(conds, subStep('GetCertificate', 'get certificate', !!got, undefined, `Certificate:${c.metadata!.name}`));
      conds = setCondition(conds, subStep('CheckReadyCondition', 'check ready condition', readyOk, undefined, `Certificate:${c.metadata!.name}`));
      conds = setCondition(conds, subStep('CheckIssuingCondition', 'check issuing condition', !issuing && reissued, undefined, `Certificate:${c.metadata!.name}`));
      if (!got || !readyOk || issuing || !reissued) allOk = false;
    }
    // Sub-steps as KubeDB records them; one condition each, naming the last certificate looked at.
    if (JSON.stringify(conds) !== JSON.stringify(op.status?.conditions ?? [])) op = await this.store.writeStatus(op, { ...(op.status ?? {}), conditions: conds });
    return { ok: allOk, op };
  }

  private async patchDbSpec(db: DbObject, spec: Record<string, unknown>): Promise<void> {
    await this.ctx.kube.objects.patch(
      { apiVersion: this.a.info.apiVersion, kind: this.a.info.kind, metadata: { name: db.metadata.name, namespace: db.metadata.namespace }, spec } as k8s.KubernetesObject,
      undefined,
      undefined,
      'pgtls-ops-manager',
      undefined,
      k8s.PatchStrategy.MergePatch,
    );
  }

  /** Paused is a status condition on the database (KubeDB's pause), written with resourceVersion. */
  private async setPaused(db: DbObject, paused: boolean, op: OpsObject): Promise<void> {
    const custom = this.ctx.kube.api(k8s.CustomObjectsApi);
    const [group, version] = this.a.info.apiVersion.split('/') as [string, string];
    for (let i = 0; i < 5; i++) {
      const fresh = await this.ctx.kube.get<DbObject>(this.a.info.apiVersion, this.a.info.kind, db.metadata.name!, db.metadata.namespace);
      if (!fresh) return;
      const has = isConditionTrue(fresh.status?.conditions, 'Paused');
      if (has === paused) return;
      const conditions = paused
        ? setCondition(fresh.status?.conditions, { type: 'Paused', status: 'True', reason: 'Paused', message: `paused by ${this.a.info.opsKind} ${op.metadata.name}` })
        : removeCondition(fresh.status?.conditions, 'Paused');
      try {
        await custom.replaceNamespacedCustomObjectStatus({
          group,
          version,
          namespace: db.metadata.namespace!,
          plural: this.a.info.plural,
          name: db.metadata.name!,
          body: { ...fresh, status: { ...(fresh.status ?? {}), conditions } },
        });
        return;
      } catch (err) {
        if (statusCode(err) !== 409) throw err;
      }
    }
    throw new Error(`could not ${paused ? 'pause' : 'resume'} ${db.metadata.name}: its status keeps changing`);
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

  /** Restores the last working TLS state, resumes the database, ends Failed with the reason. */
  private async fail(op: OpsObject, db: DbObject | undefined, message: string): Promise<void> {
    this.ctx.log.warn({ ops: `${op.metadata.namespace}/${op.metadata.name}`, err: message }, 'failing the request; restoring the last working state');
    const fresh = (await this.store.get(op.metadata.namespace!, op.metadata.name!)) ?? op;
    if (db && this.done(fresh, 'DatabasePauseSucceeded')) {
      try {
        const plan = this.plan(fresh);
        const last = await this.lastWorking(fresh);
        const before = this.a.planned(db, plan.from);
        // Certificates back to the spec that worked (the issuer, names, SANs); ones this request created go.
        if (plan.from.tls) for (const c of this.a.certificates(before)) await this.ctx.kube.apply(c);
        else for (const c of this.a.certificates(this.a.planned(db, plan.next))) await this.ctx.kube.objects.delete(c).catch(() => undefined);
        await applyState(this.ctx, this.a, before, last);
        await rollPods(this.ctx, this.a, before, expectFor(last), Date.now() + 120_000, this.a.path, new Set(), async () => undefined);
        await this.event(fresh, 'Normal', 'RolledBack', 'restored the last working TLS configuration');
      } catch (err) {
        message += `; restoring the last working TLS configuration also failed: ${errorText(err)}`;
      }
      await this.setPaused(db, false, fresh).catch(() => undefined);
    }
    await this.store.writeStatus(fresh, {
      ...withCondition(fresh, { type: 'ReconfigureTLS', status: 'False', reason: 'Failed', message, observedGeneration: fresh.metadata.generation }),
      phase: 'Failed',
    });
    await this.event(fresh, 'Warning', 'Failed', message);
  }

  private async event(op: OpsObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    await this.ctx.events.record({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: this.a.info.opsKind, metadata: op.metadata }, type, reason, message);
  }
}

/** Runs one function at a time per key, in arrival order. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

function sameCas(a: string, b: string): boolean {
  const fa = bundleFingerprints(a).sort().join();
  return fa === bundleFingerprints(b).sort().join();
}

/** The same material, its trust bundles extended with the other state's CAs. */
function withTrust(s: StagedTls, other: StagedTls): StagedTls {
  const out: StagedTls = { ...s, 'ca.crt': mergeCaBundles(s['ca.crt'], other['ca.crt']) };
  if (s['client-ca.crt']) out['client-ca.crt'] = mergeCaBundles(s['client-ca.crt'], other['client-ca.crt'] ?? other['ca.crt']);
  if (s['backend-ca.crt']) out['backend-ca.crt'] = mergeCaBundles(s['backend-ca.crt'], other['backend-ca.crt'] ?? '');
  return out;
}
