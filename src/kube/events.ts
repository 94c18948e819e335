// Kubernetes Events (core/v1, so `kubectl describe` lists them) for what the
// operator does. Repeats of the same event bump its count instead of piling up.
import { isNotFound, type KubeClient } from './api.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import type { Logger } from '../observability/logger.ts';

export type EventType = 'Normal' | 'Warning';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

interface CoreEvent {
  metadata: { name?: string; namespace?: string };
  count?: number;
}

export class EventRecorder {
  constructor(
    private readonly kube: KubeClient,
    private readonly component: string,
    private readonly host = 'pgtls',
    private readonly clock: Clock = systemClock,
    private readonly log?: Logger,
  ) {}

  /** Best effort: never fails a reconcile because of an Event. */
  async record(obj: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    try {
      await this.write(obj, type, reason, message);
    } catch (err) {
      this.log?.debug({ err: String(err), object: `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`, reason }, 'could not record an Event');
    }
  }

  private async write(obj: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const now = new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    // Same object, reason and message → one Event whose count grows.
    const digest = [obj.kind, obj.metadata.name, type, reason, message].join('\0');
    let h = 0;
    for (let i = 0; i < digest.length; i++) h = (Math.imul(h, 31) + digest.charCodeAt(i)) >>> 0;
    const name = `${obj.metadata.name}.${h.toString(16)}`;
    const ref = { apiVersion: 'v1', kind: 'Event', name, namespace };
    const existing = await this.kube.get<CoreEvent>('v1', 'Event', name, namespace);
    if (existing) {
      try {
        await this.kube.patch(ref, { count: (existing.count ?? 1) + 1, lastTimestamp: now });
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err; // expired between the read and the patch: create it again
      }
    }
    await this.kube.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component, host: this.host },
      reportingComponent: this.component,
      reportingInstance: this.host,
    });
  }
}
