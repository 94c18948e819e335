// What a ReconfigureTLS request says as it goes: the condition each step
// records and the Event it emits. Where KubeDB has a step, its words are used
// as its guides show them (`kubectl describe pgpoolopsrequest`,
// kubedb-api.md §5.4), because scripts and dashboards built on KubeDB read
// them. pgtls's extra steps (both CAs trusted, old CA dropped, reloads) are
// its own conditions next to KubeDB's, and pgtls's extra detail (time taken,
// the certificate served) is appended after KubeDB's text, never in place of it.
import type { NewCondition } from '../../kube/conditions.ts';
import { subStep } from '../ops-status.ts';
import type { TlsStep } from './steps.ts';

/** Whose word a condition or Event is. */
export type Origin = 'kubedb' | 'pgtls';

/** The names a message is made of. */
export interface Subject {
  /** The database kind: Postgres, PgBouncer, Pgpool. */
  kind: string;
  /** PostgresOpsRequest, PgBouncerOpsRequest, PgpoolOpsRequest. */
  opsKind: string;
  namespace: string;
  db: string;
  op: string;
}

export interface EventWords {
  reason: string;
  message: string;
}

export interface StepWords {
  /** The condition type that records the step as done (reason == type, as KubeDB's NewCondition makes it). */
  condition: string;
  message: string;
  /** Events before the step's work starts (KubeDB's "Pausing …", "Resuming …"). */
  before: EventWords[];
  /** The Normal Event once done. */
  done: EventWords;
  origin: Origin;
}

/** How a kind's servers take a TLS change. */
export type TlsPath = 'reload' | 'restart';

const dbName = (s: Subject) => `${s.namespace}/${s.db}`;

/** The condition type of a step (nextStep reads it to know what is done). */
export function conditionType(step: TlsStep, path: TlsPath): string {
  switch (step) {
    case 'Pause':
      return 'DatabasePauseSucceeded';
    case 'IssueCertificates':
      return 'IssueCertificatesSucceeded';
    case 'SyncCertificates':
      return 'CertificateSynced';
    case 'TrustBothCAs':
      return 'TrustBundleUpdated';
    case 'RollPods':
      return path === 'reload' ? 'ReloadPods' : 'RestartPods';
    case 'Resume':
      return 'Successful';
    default:
      return step; // UpdatePetSets, DropOldCA, UpdateDatabase
  }
}

/** Steps KubeDB does not have: the CA-change staging and reloading in place. */
function originOf(step: TlsStep, path: TlsPath): Origin {
  if (step === 'TrustBothCAs' || step === 'DropOldCA') return 'pgtls';
  if (step === 'RollPods' && path === 'reload') return 'pgtls';
  return 'kubedb';
}

/** A step's condition and Events. */
export function stepWords(step: TlsStep, path: TlsPath, s: Subject): StepWords {
  const condition = conditionType(step, path);
  const origin = originOf(step, path);
  const same = (message: string): Omit<StepWords, 'before'> => ({ condition, message, done: { reason: condition, message }, origin });
  switch (step) {
    case 'Pause':
      // The condition is short, the Event names the database and the request.
      return {
        condition,
        message: 'Successfully paused database',
        before: [{ reason: 'Starting', message: `Pausing ${s.kind} database: ${dbName(s)}` }],
        done: { reason: 'Successful', message: `Successfully paused ${s.kind} database: ${dbName(s)} for ${s.opsKind}: ${s.op}` },
        origin,
      };
    case 'IssueCertificates':
      return { ...same('successfully add issuing condition to all the certificates'), before: [] };
    case 'SyncCertificates':
      return { ...same('Successfully synced all certificates'), before: [] };
    case 'TrustBothCAs':
      return { ...same('every server, and every pooler in front of it, trusts the old and the new CA'), before: [] };
    case 'UpdatePetSets':
      return { ...same(`successfully reconciled the ${s.kind} with TLS`), before: [] };
    case 'RollPods':
      return { ...same(path === 'reload' ? `Successfully reloaded ${s.kind} pods; each serves the new TLS state` : `Successfully Restarted ${s.kind} pods`), before: [] };
    case 'DropOldCA':
      return { ...same('the old CA is no longer trusted'), before: [] };
    case 'UpdateDatabase':
      return { ...same(`Successfully updated ${s.kind}`), before: [] };
    case 'Resume':
      return {
        condition,
        message: `Successfully updated ${s.kind} TLS`,
        before: [{ reason: 'Starting', message: `Resuming ${s.kind} database: ${dbName(s)}` }],
        done: { reason: 'Successful', message: `Successfully resumed ${s.kind} database: ${dbName(s)} for ${s.opsKind}: ${s.op}` },
        origin,
      };
  }
}

/** The request's first condition (type == spec.type) and the Event of its admission. */
export function startWords(s: Subject): { message: string; event: EventWords } {
  return {
    // KubeDB's Pgpool guide shows "…for RabbitMQ nodes", a copy-paste slip in its source; the kind is meant.
    message: `${s.kind} ops-request has started to reconfigure tls for ${s.kind} nodes`,
    event: { reason: 'Starting', message: `Start processing for ${s.opsKind}: ${s.namespace}/${s.op}` },
  };
}

/**
 * Per-pod sub-steps. A restart is KubeDB's three (get the pod, evict it, wait
 * for its successor to run); a reload in place is pgtls's own.
 */
export type PodStep = 'GetPod' | 'EvictPod' | 'CheckPodRunning' | 'ReloadPod';

export const POD_STEPS: Readonly<Record<PodStep, { verb: string; origin: Origin }>> = {
  GetPod: { verb: 'get pod', origin: 'kubedb' },
  EvictPod: { verb: 'evict pod', origin: 'kubedb' },
  CheckPodRunning: { verb: 'check pod running', origin: 'kubedb' },
  ReloadPod: { verb: 'reload pod', origin: 'pgtls' },
};

/**
 * A per-pod condition, `<Step>[-<phase>]--<pod>` with KubeDB's message
 * ("evict pod; ConditionStatus:True; PodName:pgpool-0"), pgtls's detail after.
 * `phase` tells apart the pod rolls of one request (TrustBundleUpdated, DropOldCA).
 */
export function podCondition(step: PodStep, pod: string, ok: boolean, detail?: string, phase?: string): NewCondition {
  return subStep(phase ? `${step}-${phase}` : step, POD_STEPS[step].verb, ok, pod, detail);
}

/** KubeDB records a sub-step that is not done yet as a Warning whose reason is the condition's message. */
export function podWarning(c: NewCondition): EventWords {
  return { reason: c.message ?? c.type, message: c.message ?? c.type };
}
