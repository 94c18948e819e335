import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Logger } from '../observability/logger.ts';

export interface ProvisionerContext {
  kube: Kube;
  log: Logger;
  events: EventRecorder;
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
