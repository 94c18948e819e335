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

/** Thrown by a step that must wait for something outside its control; the reconcile requeues. */
export class WaitFor extends Error {
  constructor(
    readonly what: string,
    readonly retryMs = 2000,
  ) {
    super(`waiting for ${what}`);
  }
}
