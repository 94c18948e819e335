// ReconfigureTLS as an ops type: plan on start, then one step per pass
// (steps.ts decides which, apply.ts does it), rollback to the last working
// material on failure.
import type { Result } from '../../kube/controller.ts';
import { expectFor, applyState, rollPods } from '../rollout.ts';
import { readProgress, stepCondition, withCondition } from '../ops-status.ts';
import { type OpsScope, type OpsType, type StepScope } from '../ops-type.ts';
import { issueCertificates, syncCertificates } from './certificates.ts';
import { lastWorking, material, saveLastWorking, type Material } from './material.ts';
import { planTls, type OpsTls, type StoredPlan } from './plan.ts';
import { readStoredPlan } from './stored-plan.ts';
import { dropOldCA, pause, resume, rollPodsStep, subjectOf, trustBothCAs, updateDatabase, updatePetSets } from './apply.ts';
import { conditionOf, needsMaterial, nextStep, type TlsStep } from './steps.ts';
import { startWords, stepWords } from './words.ts';

/** The plan recorded in status when the request started, checked against the spec (stored-plan.ts). */
function storedPlan(s: OpsScope): StoredPlan {
  const raw = readProgress(s.op, s.ctx.clock.now()).plan;
  return readStoredPlan(raw, { kind: s.kind.info.kind, spec: s.op.spec.tls as OpsTls | undefined, defaultAuth: s.kind.ops.defaultAuth(s.db) });
}

/**
 * How often a request waiting on cert-manager looks again without an event: a
 * safety net only, since its Certificates' events wake it (operator/controllers.ts).
 * At 1 s, a hundred waiting requests (~8 API calls a look) kept the API server
 * busy answering them while cert-manager issued (README, Scale); at 5 s they
 * still took 20 passes a second.
 */
export const SYNC_POLL_MS = 15_000;

/** Steps bounded by spec.timeout (the others are single API writes). */
const TIMED: ReadonlySet<TlsStep> = new Set(['IssueCertificates', 'SyncCertificates', 'TrustBothCAs', 'UpdatePetSets', 'RollPods', 'DropOldCA']);

async function progress(s: StepScope): Promise<Result | void> {
  const plan = storedPlan(s);
  const path = s.kind.engine.tlsChange;
  const planned = s.kind.ops.planned(s.db, plan.next);
  let m: Material | undefined;
  if (needsMaterial(plan, s.op.status?.conditions)) m = await material(s, plan, planned);
  const step = nextStep(plan, s.op.status?.conditions, { path, caChange: m?.caChange });
  const condition = conditionOf(step, path);
  const deadline = TIMED.has(step) ? await s.deadline(condition) : 0;
  // A rollout step returns a wait while pods take their time: requeued, so the worker serves other requests meanwhile.
  let wait: number | undefined;
  const mat = () => {
    if (!m) throw new Error(`step ${step} needs the new TLS material, which is not staged yet`);
    return m;
  };
  switch (step) {
    case 'Pause':
      await pause(s);
      break;
    case 'IssueCertificates':
      await issueCertificates(s, planned);
      break;
    case 'SyncCertificates':
      // Certificate events wake the request (operator/controllers.ts); this poll is the safety net.
      if (!(await syncCertificates(s, planned, deadline))) return { requeueAfterMs: SYNC_POLL_MS };
      break;
    case 'TrustBothCAs':
      wait = await trustBothCAs(s, plan, mat(), deadline);
      break;
    case 'UpdatePetSets':
      await updatePetSets(s, planned, mat());
      break;
    case 'RollPods':
      wait = await rollPodsStep(s, planned, mat(), condition);
      break;
    case 'DropOldCA':
      wait = await dropOldCA(s, planned, mat(), deadline);
      break;
    case 'UpdateDatabase':
      await updateDatabase(s, plan);
      break;
    case 'Resume': {
      await resume(s);
      const done = stepCondition(condition, stepWords(step, path, subjectOf(s)).message, s.op.metadata.generation);
      s.op = await s.store.writeStatus(s.op, { ...withCondition(s.op, done, new Date(s.ctx.clock.now())), phase: 'Successful' });
      await s.store.recordProgress(s.op, { step: null, restarting: null });
      // The clean-up pass (ended()) comes from here, not from this status write's echo.
      return { requeueAfterMs: 0 };
    }
  }
  if (wait !== undefined) return { requeueAfterMs: wait };
  const words = stepWords(step, path, subjectOf(s));
  await s.mark(stepCondition(condition, words.message, s.op.metadata.generation));
  await s.event('Normal', words.done.reason, words.done.message);
  return { requeueAfterMs: 0 };
}

/** Certificates back to the spec that worked, the last working material staged and taken by every pod. */
async function rollback(s: StepScope): Promise<void> {
  const plan = storedPlan(s);
  const last = await lastWorking(s);
  const before = s.kind.ops.planned(s.db, plan.from);
  if (plan.from.tls) for (const c of s.kind.provisioner.certificates(before)) await s.ctx.kube.apply(c);
  else for (const c of s.kind.provisioner.certificates(s.kind.ops.planned(s.db, plan.next))) await s.ctx.kube.delete({ apiVersion: c.apiVersion!, kind: c.kind!, name: c.metadata!.name!, namespace: c.metadata!.namespace });
  await applyState(s.ctx, s.kind, before, last);
  await rollPods(s.ctx, s.kind, before, expectFor(last), s.ctx.clock.now() + 120_000, new Set(), async () => undefined);
}

export const reconfigureTls: OpsType = {
  type: 'ReconfigureTLS',
  async start(s) {
    const from = s.kind.ops.dbTls(s.db);
    const requested: OpsTls = s.op.spec.tls ?? {};
    const plan: StoredPlan = { ...planTls(from, requested, s.kind.ops.defaultAuth(s.db)), from };
    s.op = await s.store.recordProgress(s.op, { plan: JSON.parse(JSON.stringify(plan)) as Record<string, unknown> });
    await saveLastWorking(s);
    return startWords({ kind: s.kind.info.kind, opsKind: s.kind.info.opsKind, namespace: s.op.metadata.namespace!, db: s.db.metadata.name!, op: s.op.metadata.name! }).message;
  },
  progress,
  rollback,
};
