// Lookups against the API server, for the webhook's admission facts.
import { k8s, isNotFound, type Kube } from '../kube/client.ts';
import { DATABASE_KINDS, VERSION_KIND, type DatabaseKind } from '../api/kinds.ts';
import type { CatalogEntry, Database, Lookups } from './facts.ts';

type CatalogItem = { metadata?: { name?: string }; spec?: { version?: string; deprecated?: boolean } };

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function kubeLookups(kube: Kube): Lookups {
  const custom = kube.api(k8s.CustomObjectsApi);
  return {
    async listVersions(kind: DatabaseKind): Promise<CatalogEntry[]> {
      const v = VERSION_KIND[kind];
      const list = (await custom.listClusterCustomObject({ group: v.group, version: v.version, plural: v.plural })) as { items: CatalogItem[] };
      return list.items
        .map((i) => ({ name: i.metadata?.name ?? '', version: i.spec?.version ?? '', deprecated: i.spec?.deprecated }))
        .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    },
    async getDatabase(kind: DatabaseKind, namespace: string, name: string): Promise<Database | undefined> {
      const info = DATABASE_KINDS.find((k) => k.kind === kind)!;
      if (!name || !namespace) return undefined;
      return (await orUndefined(custom.getNamespacedCustomObject({ group: info.group, version: info.version, namespace, plural: info.plural, name }))) as Database | undefined;
    },
    async getIssuer(kind: string, namespace: string, name: string) {
      const g = { group: 'cert-manager.io', version: 'v1' };
      const got = kind === 'ClusterIssuer'
        ? orUndefined(custom.getClusterCustomObject({ ...g, plural: 'clusterissuers', name }))
        : orUndefined(custom.getNamespacedCustomObject({ ...g, namespace, plural: 'issuers', name }));
      return (await got) as { spec?: { acme?: unknown } } | undefined;
    },
  };
}
