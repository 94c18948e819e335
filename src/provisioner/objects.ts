// Small object helpers the reconcilers share: read a secret's key, create a
// Secret only if absent, list pods of a database, read a catalog version.
import { k8s, statusCode, type Kube } from '../kube/client.ts';

export async function readSecret(kube: Kube, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  try {
    const s = await kube.api(k8s.CoreV1Api).readNamespacedSecret({ name, namespace });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw err;
  }
}

/** Creates the object unless it exists; never overwrites (a generated password must stay). */
export async function createIfAbsent(kube: Kube, obj: k8s.KubernetesObject): Promise<void> {
  try {
    await kube.objects.create(obj);
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
  }
}

export async function listPods(kube: Kube, namespace: string, selector: Record<string, string>): Promise<k8s.V1Pod[]> {
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await kube.api(k8s.CoreV1Api).listNamespacedPod({ namespace, labelSelector });
  return pods.items.sort((a, b) => ordinal(a) - ordinal(b));
}

export function ordinal(pod: k8s.V1Pod): number {
  const m = /-(\d+)$/.exec(pod.metadata?.name ?? '');
  return m ? Number(m[1]) : -1;
}

export function podReady(pod: k8s.V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export async function catalogImage(kube: Kube, kind: string, version: string): Promise<string | undefined> {
  const v = await kube.get<k8s.KubernetesObject & { spec?: { db?: { image?: string }; server?: { image?: string }; pgpool?: { image?: string } } }>(
    'catalog.kubedb.com/v1alpha1',
    kind,
    version,
  );
  return v?.spec?.db?.image ?? v?.spec?.server?.image ?? v?.spec?.pgpool?.image;
}
