// Objects the cluster needs before cert-manager starts: its namespace, its
// RBAC, and its CRDs (shipped in the cert-manager Go module, Helm-templated
// only in their labels, which we replace).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Kube, conditionTrue, type KubeObject } from '../../kube/client.ts';
import { CERT_MANAGER_NAMESPACE } from './components/cert-manager.ts';

export const CERT_MANAGER_USER = 'pgtls:cert-manager';

export function certManagerCrds(dir: string, version: string): KubeObject[] {
  const crds: KubeObject[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const obj = doc.toJS() as KubeObject | null;
      if (!obj || obj.kind !== 'CustomResourceDefinition') continue;
      obj.metadata = {
        ...obj.metadata,
        labels: {
          app: 'cert-manager',
          'app.kubernetes.io/name': 'cert-manager',
          'app.kubernetes.io/instance': 'cert-manager',
          'app.kubernetes.io/version': `v${version}`,
          'app.kubernetes.io/managed-by': 'pgtls',
        },
      };
      crds.push(obj);
    }
  }
  if (crds.length === 0) throw new Error(`no cert-manager CRDs found in ${dir}`);
  return crds;
}

export function certManagerRbac(): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CERT_MANAGER_NAMESPACE } },
    {
      // The local cert-manager authenticates with a client certificate as this
      // user; on a real cluster its Helm chart's narrower roles apply instead.
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'pgtls:cert-manager' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: CERT_MANAGER_USER }],
    } as KubeObject,
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function applyAndWaitEstablished(kube: Kube, crds: KubeObject[], timeoutMs: number): Promise<void> {
  for (const crd of crds) await kube.apply(crd);
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata!.name!;
    for (;;) {
      const got = await kube.get<KubeObject>('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name);
      if (conditionTrue(got, 'Established')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not Established within ${timeoutMs / 1000}s`);
      await sleep(200);
    }
  }
}

/** cert-manager runs its controllers only once it holds its Lease. */
export async function waitLeaseHeld(
  kube: Kube,
  lease: { namespace: string; name: string },
  since: number,
  timeoutMs: number,
  alive: () => boolean,
): Promise<void> {
  const { namespace, name } = lease;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the holder of Lease ${namespace}/${name} exited`);
    const got = await kube.get<KubeObject>('coordination.k8s.io/v1', 'Lease', name, namespace);
    const spec = got?.spec as { holderIdentity?: string; renewTime?: string } | undefined;
    // Renewed after this process started: a Lease left by the previous run does not count.
    if (spec?.holderIdentity && spec.renewTime && Date.parse(spec.renewTime) >= since - 1000) return;
    await sleep(250);
  }
  throw new Error(`Lease ${namespace}/${name} was not acquired within ${timeoutMs / 1000}s`);
}
