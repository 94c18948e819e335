// One function per ReconfigureTLS step (what each does, not when: that is
// steps.ts). Every step is idempotent: apply is server-side apply, reloads are
// repeated until the wire shows the expected certificate, pods already done
// (a sub-condition each) are skipped after a crash.
import { isConditionTrue } from '../../kube/conditions.ts';
import type { DbObject } from '../../api/objects.ts';
import { kindOf } from '../../kinds/index.ts';
import { WaitFor } from '../../provisioner/context.ts';
import { readSecret } from '../../provisioner/objects.ts';
import { asStagedTls, stagedTlsSecretName, type StagedTls } from '../../provisioner/specs/tls-staging.ts';
import { setPaused } from '../pause.ts';
import { withCondition } from '../ops-status.ts';
import type { NewCondition } from '../../kube/conditions.ts';
import type { StepScope } from '../ops-type.ts';
import { applyState, expectFor, rollPods, rollPodsPass, type OnRestartStep, type PodResult, type RolloutMark } from '../rollout.ts';
import { podCondition, podWarning, stepWords, type PodStep, type Subject } from './words.ts';
import type { Material } from './material.ts';
import { served, withTrust } from './material.ts';
import type { StoredPlan } from './plan.ts';

const dbRefOf = (s: StepScope, db: DbObject) => ({ apiVersion: s.kind.info.apiVersion, kind: s.kind.info.kind, name: db.metadata.name!, namespace: db.metadata.namespace });
const dbName = (db: DbObject) => `${db.metadata.namespace}/${db.metadata.name}`;

/** The names KubeDB's messages are made of, for this request. */
export function subjectOf(s: StepScope): Subject {
  return { kind: s.kind.info.kind, opsKind: s.kind.info.opsKind, namespace: s.db.metadata.namespace!, db: s.db.metadata.name!, op: s.op.metadata.name! };
}

export async function pause(s: StepScope): Promise<void> {
  for (const e of stepWords('Pause', s.kind.engine.tlsChange, subjectOf(s)).before) await s.event('Normal', e.reason, e.message);
  await setPaused(s.ctx.kube, dbRefOf(s, s.db), true, `${s.kind.info.opsKind} ${s.op.metadata.name}`, new Date(s.ctx.clock.now()));
}

/**
 * One pass of the pods through a state, recording sub-steps per pod: KubeDB's
 * GetPod/EvictPod/CheckPodRunning for a restart, pgtls's ReloadPod for a
 * reload, the time taken and the certificate served appended to the last.
 * Returns how long to wait when a pod still needs time (the step is then
 * requeued, holding no worker), undefined when all are done.
 */
async function roll(s: StepScope, step: string, state: StagedTls | null, path: 'reload' | 'restart'): Promise<number | undefined> {
  const phase = step === 'ReloadPods' || step === 'RestartPods' ? undefined : step;
  const last: PodStep = path === 'reload' ? 'ReloadPod' : 'CheckPodRunning';
  const prefix = `${phase ? `${last}-${phase}` : last}--`;
  const done = new Set(
    (s.op.status?.conditions ?? []).filter((c) => c.type.startsWith(prefix) && c.status === 'True').map((c) => c.type.slice(prefix.length)),
  );
  const now = () => new Date(s.ctx.clock.now());
  const record = async (c: NewCondition) => {
    s.op = await s.store.writeStatus(s.op, withCondition(s.op, c, now()));
    if (c.status !== 'True') {
      const w = podWarning(c);
      await s.event('Warning', w.reason, w.message);
    }
  };
  const onStep: OnRestartStep = async (sub, ok, pod) => {
    // The last sub-step is recorded with the pod's result, below.
    if (sub !== 'CheckPodRunning' || !ok) await record(podCondition(sub, pod, ok, undefined, phase));
  };
  // Kept in status.progress (the operator's to write), not in an annotation a user could forge to evict another pod.
  const mark: RolloutMark = {
    get: () => s.op.status?.progress?.restarting,
    set: async (v) => {
      s.op = await s.store.recordProgress(s.op, { restarting: v });
    },
  };
  const r = await rollPodsPass(s.ctx, s.kind, s.db, expectFor(state), done, async (p: PodResult) => {
    await record(podCondition(last, p.pod, true, `took ${p.ms}ms; serves ${p.served}`, phase));
  }, mark, path, onStep);
  if (r.done) return undefined;
  s.ctx.log.debug({ ops: `${s.op.metadata.namespace}/${s.op.metadata.name}`, step, waitingFor: r.waitingFor }, 'rollout waits; requeued');
  return r.waitMs;
}

/**
 * Poolers in front of this database re-render their backend trust (read from
 * this database's staged bundle) and take it: PgBouncer by reload; Pgpool
 * re-reads its CA file for every new backend connection, so it needs nothing.
 */
export async function refreshDependents(s: StepScope, db: DbObject, deadline: number): Promise<void> {
  for (const dep of (await s.kind.ops.dependents?.(s.ctx.kube, db)) ?? []) {
    const dk = kindOf(dep);
    if (!dk || isConditionTrue(dep.status?.conditions, 'Paused')) continue;
    try {
      await dk.provisioner.apply(s.ctx, dep);
    } catch (err) {
      // A pooler still waiting for something of its own is refreshed by its provisioner later.
      if (err instanceof WaitFor) continue;
      throw err;
    }
    if (dk.engine.tlsChange !== 'reload') continue;
    const staged = asStagedTls(await readSecret(s.ctx.kube, dep.metadata.namespace!, stagedTlsSecretName(dep.metadata.name!)));
    await rollPods(s.ctx, dk, dep, expectFor(staged), deadline, new Set(), async () => undefined, 'reload');
    s.ctx.log.info({ db: dbName(db), dependent: `${dep.kind} ${dbName(dep)}` }, 'dependent trusts the new backend CA state');
  }
}

/** With a new CA, first every server trusts both CAs while serving the old certificate. Returns a wait (requeue) or undefined when done. */
export async function trustBothCAs(s: StepScope, plan: StoredPlan, m: Material, deadline: number): Promise<number | undefined> {
  const trustBoth = withTrust(m.last!, m.target!);
  await applyState(s.ctx, s.kind, s.kind.ops.planned(s.db, plan.from), trustBoth);
  const wait = await roll(s, 'TrustBundleUpdated', trustBoth, 'reload');
  if (wait !== undefined) return wait;
  await refreshDependents(s, s.db, deadline);
}

/** Writes the new state (config and staged TLS) for the servers to take. */
export async function updatePetSets(s: StepScope, planned: DbObject, m: Material): Promise<void> {
  await applyState(s.ctx, s.kind, planned, served(m, s.kind.engine.tlsChange));
}

/** Every pod takes the new state, the engine's way, proven on the wire. Returns a wait (requeue) or undefined when done. */
export async function rollPodsStep(s: StepScope, planned: DbObject, m: Material, step: string): Promise<number | undefined> {
  const state = served(m, s.kind.engine.tlsChange);
  await applyState(s.ctx, s.kind, planned, state);
  return roll(s, step, state, s.kind.engine.tlsChange);
}

/** Drops the old CA once nothing presents a certificate from it. Returns a wait (requeue) or undefined when done. */
export async function dropOldCA(s: StepScope, planned: DbObject, m: Material, deadline: number): Promise<number | undefined> {
  await applyState(s.ctx, s.kind, planned, m.target);
  const wait = await roll(s, 'DropOldCA', m.target, 'reload');
  if (wait !== undefined) return wait;
  await refreshDependents(s, s.db, deadline);
}

/** The database's spec says what is now served; poolers in front of a backend that turned TLS on or off follow now. */
export async function updateDatabase(s: StepScope, plan: StoredPlan): Promise<void> {
  await s.ctx.kube.patch(dbRefOf(s, s.db), { spec: s.kind.ops.specPatch(plan.next) }, 'pgtls-ops-manager');
  if (plan.operation === 'add' || plan.operation === 'remove') {
    const fresh = await s.ctx.kube.get<DbObject>(s.kind.info.apiVersion, s.kind.info.kind, s.db.metadata.name!, s.db.metadata.namespace);
    if (fresh) await refreshDependents(s, fresh, s.ctx.clock.now() + 60_000);
  }
}

export async function resume(s: StepScope): Promise<void> {
  const words = stepWords('Resume', s.kind.engine.tlsChange, subjectOf(s));
  for (const e of words.before) await s.event('Normal', e.reason, e.message);
  await setPaused(s.ctx.kube, dbRefOf(s, s.db), false, `${s.kind.info.opsKind} ${s.op.metadata.name}`);
  await s.event('Normal', words.done.reason, words.done.message);
}
