import type { KubeClient } from '../kube/api.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Clock } from '../util/clock.ts';

/** What every reconciler is given: the API (real or fake), a logger, Events and the time. */
export interface ProvisionerContext {
  kube: KubeClient;
  log: Logger;
  events: EventRecorder;
  clock: Clock;
}

/**
 * Thrown by a step that must wait for something outside its control; the reconcile requeues.
 * `warning` (an Event reason) marks a wait a person must know about, such as
 * material refused at staging: the reconciler records it as a Warning Event.
 */
export class WaitFor extends Error {
  constructor(
    readonly what: string,
    readonly retryMs = 2000,
    readonly warning?: string,
  ) {
    super(`waiting for ${what}`);
  }
}

/**
 * The database refers to something it may not use (a backend in another
 * namespace that does not opt in): nothing is read from it, and what was
 * copied from it before is removed. Retried, as the owner may opt in later.
 */
export class ReferenceRefused extends WaitFor {
  constructor(readonly reason: string) {
    super(reason, 30_000);
    this.message = reason;
  }
}
