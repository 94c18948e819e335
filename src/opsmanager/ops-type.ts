// The shape of one ops type (ReconfigureTLS today; Restart, VerticalScaling,
// UpdateVersion next): the reconciler does what every type shares (queueing,
// the readiness gate, retries, failing and resuming), the type module plans
// its request and runs its steps, each recorded as a status condition.
import type { Result } from '../kube/controller.ts';
import type { NewCondition } from '../kube/conditions.ts';
import type { DbObject, OpsObject } from '../api/objects.ts';
import type { Kind } from '../kinds/types.ts';
import type { RolloutContext } from './rollout.ts';
import type { OpsStore } from './ops-status.ts';

/** A step that failed for good: no retry, the request fails and rolls back. */
export class StepFailed extends Error {}

/** What a type module is handed for one pass over one request. */
export interface OpsScope {
  ctx: RolloutContext;
  kind: Kind;
  store: OpsStore;
  /** The request as last written (refreshed by mark and annotate). */
  op: OpsObject;
  db: DbObject;
}

/** The step helpers the reconciler gives a type module. */
export interface StepScope extends OpsScope {
  /** Starts the step's clock (an annotation) or reads it; throws StepFailed past spec.timeout. Returns the deadline. */
  deadline(step: string): Promise<number>;
  /** Records a finished step (or sub-step) as a condition; with a reason, also an Event. */
  mark(c: NewCondition, reason?: string): Promise<void>;
  event(type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export interface OpsType {
  /** The spec.type it runs. */
  readonly type: string;
  /**
   * Pending → Progressing: checks the request against the database and records
   * what later passes need (a plan annotation, the last working state). Throws
   * PlanError (or any Error with a user-facing message) when it cannot run.
   * Returns the message of the type's first condition.
   */
  start(s: OpsScope): Promise<string>;
  /** One pass while Progressing: runs the first unfinished step. Done when the request is Successful. */
  progress(s: StepScope): Promise<Result | void>;
  /** After a failure, with the database still paused: puts back what last worked. */
  rollback(s: StepScope): Promise<void>;
}
