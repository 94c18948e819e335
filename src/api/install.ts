// Installs the CRDs and the version catalog into a cluster; idempotent
// (server-side apply), so the cluster bring-up can call it on every start.
import type { k8s } from '../kube/client.ts';
import type { KubeClient, KubeObject } from '../kube/api.ts';
import { buildCrds } from './crds.ts';
import { DEFAULT_CATALOG, type CatalogObject } from './default-catalog.ts';

export interface InstallOptions {
  /** Bounded wait for the CRDs to be served. */
  timeoutMs?: number;
}

async function waitEstablished(kube: KubeClient, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await kube.get<k8s.V1CustomResourceDefinition>('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name);
      if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function installApi(kube: KubeClient, catalog: CatalogObject[] = DEFAULT_CATALOG, opts: InstallOptions = {}): Promise<void> {
  const crds = buildCrds();
  for (const crd of crds) await kube.apply(crd);
  await waitEstablished(kube, crds.map((c) => c.metadata.name), opts.timeoutMs ?? 60_000);
  for (const v of catalog) await applyWhenServed(kube, v, opts.timeoutMs ?? 60_000);
}

/** Established CRDs can take a moment to reach the discovery cache the client uses. */
async function applyWhenServed(kube: KubeClient, obj: CatalogObject, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await kube.apply<KubeObject>(obj);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

