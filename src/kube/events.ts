// Kubernetes Events (core/v1, so `kubectl describe` lists them) for what the
// operator does. Repeats of the same event bump its count instead of piling up.
import { k8s, type Kube } from './client.ts';

export type EventType = 'Normal' | 'Warning';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export class EventRecorder {
  private readonly core: k8s.CoreV1Api;
  constructor(
    kube: Kube,
    private readonly component: string,
    private readonly host = 'pgtls',
  ) {
    this.core = kube.api(k8s.CoreV1Api);
  }

  async record(obj: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const now = new Date();
    // Same object, reason and message → one Event whose count grows.
    const digest = [obj.kind, obj.metadata.name, type, reason, message].join('\0');
    let h = 0;
    for (let i = 0; i < digest.length; i++) h = (Math.imul(h, 31) + digest.charCodeAt(i)) >>> 0;
    const name = `${obj.metadata.name}.${h.toString(16)}`;
    try {
      const existing = await this.core.readNamespacedEvent({ name, namespace });
      await this.core.patchNamespacedEvent(
        { name, namespace, body: { count: (existing.count ?? 1) + 1, lastTimestamp: now } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 404) return;
    }
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
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
        },
      });
    } catch {
      // Events are best effort: never fail a reconcile because of one.
    }
  }
}
