// Health of a pooler (PgBouncer, Pgpool): replicas ready, and a pgwire probe
// (SSLRequest and, when served, a TLS handshake) answered on each ready pod's IP.
import type { k8s } from '../../kube/client.ts';
import { probeTls } from '../../engines/shared/probe.ts';
import type { KubeClient } from '../../kube/api.ts';
import { dialPod } from '../dial.ts';
import { podReady } from '../objects.ts';
import type { DbObject, Health } from '../reconciler.ts';

export async function poolerHealth(db: DbObject, pods: k8s.V1Pod[], port: number, kube: KubeClient): Promise<Health> {
  const ready = pods.filter(podReady);
  const replicas = db.spec.replicas ?? 1;
  let message: string | undefined = ready.length === 0 ? 'no pod is ready' : undefined;
  let accepting = ready.length > 0;
  for (const p of ready) {
    if (!p.status?.podIP) continue;
    const r = await probeTls(dialPod(kube, p.status.podIP, port), { timeoutMs: 2000 });
    if (r.kind === 'error') {
      accepting = false;
      message = `${p.metadata!.name}: ${r.error}`;
    }
  }
  return { replicasReady: ready.length >= replicas, readyReplicas: ready.length, accepting, message };
}
