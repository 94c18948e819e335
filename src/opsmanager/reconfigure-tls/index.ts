// ReconfigureTLS as an ops type: plan on start, then one step per pass
// (steps.ts decides which, apply.ts does it), rollback to the last working
// material on failure.
import type { Result } from '../../kube/controller.ts';
import { expectFor, applyState, rollPods } from '../rollout.ts';
import { ANNOTATION, stepCondition, withCondition } from '../ops-status.ts';
import { StepFailed, type OpsScope, type OpsType, type StepScope } from '../ops-type.ts';
import { issueCertificates, syncCertificates } from './certificates.ts';
import { lastWorking, material, saveLastWorking, type Material } from './material.ts';
import { planTls, type OpsTls, type StoredPlan } from './plan.ts';
import { dropOldCA, pause, resume, rollPodsStep, trustBothCAs, updateDatabase, updatePetSets } from './apply.ts';
import { conditionOf, needsMaterial, nextStep, type TlsStep } from './steps.ts';

function storedPlan(s: OpsScope): StoredPlan {
  const raw = s.op.metadata.annotations?.[ANNOTATION.plan];
  if (!raw) throw new StepFailed('the request has no recorded plan');
  return JSON.parse(raw) as StoredPlan;
}

/** The condition message and Event reason of each step once done (KubeDB's wording where it has one). */
function doneMessage(step: TlsStep, kind: string, path: 'reload' | 'restart'): string {
  switch (step) {
    case 'Pause':
      return 'Successfully paused database';
    case 'IssueCertificates':
      return 'successfully add issuing condition to all the certificates';
    case 'SyncCertificates':
      return 'Successfully synced all certificates';
    case 'TrustBothCAs':
      return 'every server, and every pooler in front of it, trusts the old and the new CA';
    case 'UpdatePetSets':
      return `successfully reconciled the ${kind} with TLS`;
    case 'RollPods':
      return path === 'reload' ? `Successfully reloaded ${kind} pods; each serves the new TLS state` : `Successfully Restarted ${kind} pods`;
    case 'DropOldCA':
      return 'the old CA is no longer trusted';
    case 'UpdateDatabase':
      return `Successfully updated ${kind}`;
    case 'Resume':
      return `Successfully updated ${kind} TLS`;
  }
}

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
      if (!(await syncCertificates(s, planned, deadline))) return { requeueAfterMs: 1_000 };
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
      const done = stepCondition('Successful', doneMessage(step, s.kind.info.kind, path), s.op.metadata.generation);
      s.op = await s.store.writeStatus(s.op, { ...withCondition(s.op, done, new Date(s.ctx.clock.now())), phase: 'Successful' });
      await s.store.annotate(s.op, { [ANNOTATION.step]: null, [ANNOTATION.restarting]: null });
      return;
    }
  }
  if (wait !== undefined) return { requeueAfterMs: wait };
  // KubeDB records Pause's Event with reason Successful; every other step is its own reason.
  await s.mark(stepCondition(condition, doneMessage(step, s.kind.info.kind, path), s.op.metadata.generation), step === 'Pause' ? 'Successful' : condition);
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
    await s.store.annotate(s.op, { [ANNOTATION.plan]: JSON.stringify(plan) });
    await saveLastWorking(s);
    return `${s.kind.info.kind} ops-request has started to reconfigure tls for ${s.kind.info.kind} nodes`;
  },
  progress,
  rollback,
};
