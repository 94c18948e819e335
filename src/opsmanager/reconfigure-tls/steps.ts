// The ReconfigureTLS step machine, decided apart from acted on (as in
// CloudNativePG's evaluateNextSteps/applySteps): nextStep() is pure: from the
// stored plan, the request's conditions and two facts it returns the first
// unfinished step. Each step, once done, is recorded as the condition named
// here, so a restarted operator resumes at the same step.
//
//   Pause → [IssueCertificates] → [SyncCertificates] → [TrustBothCAs] → UpdatePetSets
//     → RollPods (ReloadPods | RestartPods) → [DropOldCA] → UpdateDatabase → Resume
import { isConditionTrue, type Condition } from '../../kube/conditions.ts';
import type { TlsPlan } from './plan.ts';
import { conditionType } from './words.ts';

export type TlsStep =
  | 'Pause'
  | 'IssueCertificates'
  | 'SyncCertificates'
  | 'TrustBothCAs'
  | 'UpdatePetSets'
  | 'RollPods'
  | 'DropOldCA'
  | 'UpdateDatabase'
  | 'Resume';

export interface TlsFacts {
  /** How the kind's servers take the change. */
  path: 'reload' | 'restart';
  /**
   * The request moves the servers to certificates from another CA. Known once
   * the certificates are synced (or when TLS is removed); undefined before.
   */
  caChange?: boolean;
}

/** The condition type that records a step as done (KubeDB's names; words.ts). */
export function conditionOf(step: TlsStep, path: TlsFacts['path']): string {
  return conditionType(step, path);
}

/** Whether the step belongs to this request at all (else it is skipped). */
function applies(step: TlsStep, plan: Pick<TlsPlan, 'operation' | 'rotate'>, f: TlsFacts): boolean {
  switch (step) {
    case 'IssueCertificates':
      return plan.rotate;
    case 'SyncCertificates':
      return plan.operation !== 'remove';
    case 'TrustBothCAs':
    case 'DropOldCA':
      // Only a server that reloads can hold both CAs while it still serves the old certificate.
      if (f.path !== 'reload') return false;
      if (f.caChange === undefined) throw new Error(`step ${step}: whether the CA changes is not known yet (certificates not synced)`);
      return f.caChange;
    default:
      return true;
  }
}

export const TLS_STEPS: readonly TlsStep[] = ['Pause', 'IssueCertificates', 'SyncCertificates', 'TrustBothCAs', 'UpdatePetSets', 'RollPods', 'DropOldCA', 'UpdateDatabase', 'Resume'];

/** The first step that applies and is not recorded as done. */
export function nextStep(plan: Pick<TlsPlan, 'operation' | 'rotate'>, conditions: readonly Condition[] | undefined, facts: TlsFacts): TlsStep {
  for (const step of TLS_STEPS) {
    if (step === 'Resume') return step;
    if (isConditionTrue(conditions, conditionOf(step, facts.path))) continue;
    if (applies(step, plan, facts)) return step;
  }
  return 'Resume';
}

/** Whether the facts about the new material are needed (and can be had): the certificates are in place. */
export function needsMaterial(plan: Pick<TlsPlan, 'operation'>, conditions: readonly Condition[] | undefined): boolean {
  return plan.operation === 'remove' || isConditionTrue(conditions, 'CertificateSynced');
}
