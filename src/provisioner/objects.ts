// Small object helpers the reconcilers share: read a secret's key, create a
// Secret only if absent, list pods of a database, read a catalog version.
import { isConflict, type KubeClient, type KubeObject } from '../kube/api.ts';
import type { k8s } from '../kube/client.ts';
import { offshootLabels, type KindInfo } from '../kinds/info.ts';

export async function readSecret(kube: KubeClient, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  const s = await kube.get<KubeObject>('v1', 'Secret', name, namespace);
  if (!s) return undefined;
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** Creates the object unless it exists; never overwrites (a generated password must stay). */
export async function createIfAbsent(kube: KubeClient, obj: KubeObject): Promise<void> {
  // A read first: at rest the object exists, and a refused create would still be a write request.
  if (obj.apiVersion && obj.kind && obj.metadata?.name && (await kube.get(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace))) return;
  try {
    await kube.create(obj);
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

export async function listPods(kube: KubeClient, namespace: string, selector: Record<string, string>): Promise<k8s.V1Pod[]> {
  const pods = await kube.list<k8s.V1Pod>('v1', 'Pod', { namespace, labelSelector: selector });
  return pods.sort((a, b) => ordinal(a) - ordinal(b));
}

export function ordinal(pod: k8s.V1Pod): number {
  const m = /-(\d+)$/.exec(pod.metadata?.name ?? '');
  return m ? Number(m[1]) : -1;
}

export function podReady(pod: k8s.V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export async function catalogImage(kube: KubeClient, kind: string, version: string): Promise<string | undefined> {
  const v = await kube.get<k8s.KubernetesObject & { spec?: { db?: { image?: string }; pgBouncer?: { image?: string }; pgpool?: { image?: string } } }>(
    'catalog.kubedb.com/v1alpha1',
    kind,
    version,
  );
  return v?.spec?.db?.image ?? v?.spec?.pgBouncer?.image ?? v?.spec?.pgpool?.image;
}

/**
 * Whether an object provably belongs to a database: owned by it (its uid), or
 * carrying all of its offshoot labels (what pgtls and cert-manager's
 * secretTemplate put on what they create). A name alone proves nothing.
 */
export function belongsTo(obj: KubeObject, info: KindInfo, db: { metadata: { name?: string; uid?: string } }): boolean {
  if (db.metadata.uid && obj.metadata?.ownerReferences?.some((r) => r.uid === db.metadata.uid)) return true;
  const labels = obj.metadata?.labels ?? {};
  return Object.entries(offshootLabels(info, db.metadata.name!)).every(([k, v]) => labels[k] === v);
}

/**
 * The database's pods: those its StatefulSet controls (owner uid), never a pod
 * that merely has the labels and the name. The rest matching the labels are
 * returned apart, so callers can refuse to trust them.
 */
export async function ownedPods(kube: KubeClient, namespace: string, stsName: string, selector: Record<string, string>): Promise<{ owned: k8s.V1Pod[]; foreign: k8s.V1Pod[] }> {
  const sts = await kube.get<KubeObject>('apps/v1', 'StatefulSet', stsName, namespace);
  const pods = await listPods(kube, namespace, selector);
  const uid = sts?.metadata?.uid;
  const isOwned = (p: k8s.V1Pod) => !!uid && (p.metadata?.ownerReferences ?? []).some((r) => r.controller && r.kind === 'StatefulSet' && r.uid === uid);
  return { owned: pods.filter(isOwned), foreign: pods.filter((p) => !isOwned(p)) };
}
