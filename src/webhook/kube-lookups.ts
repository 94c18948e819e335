// Lookups against the API server, for the webhook's admission facts.
import type { KubeClient, KubeObject } from '../kube/api.ts';
import { DATABASE_KINDS, VERSION_KIND, apiVersionOf, type DatabaseKind } from '../api/kinds.ts';
import type { AccessCheck, CatalogEntry, Database, Lookups, UserInfo } from './facts.ts';

type CatalogItem = KubeObject & { spec?: { version?: string; deprecated?: boolean } };

export function kubeLookups(kube: KubeClient): Lookups {
  return {
    async listVersions(kind: DatabaseKind): Promise<CatalogEntry[]> {
      const v = VERSION_KIND[kind];
      const items = await kube.list<CatalogItem>(apiVersionOf(v), v.kind);
      return items
        .map((i) => ({ name: i.metadata?.name ?? '', version: i.spec?.version ?? '', deprecated: i.spec?.deprecated }))
        .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    },
    async getDatabase(kind: DatabaseKind, namespace: string, name: string): Promise<Database | undefined> {
      const info = DATABASE_KINDS.find((k) => k.kind === kind)!;
      if (!name || !namespace) return undefined;
      return kube.get<KubeObject & Database>(apiVersionOf(info), info.kind, name, namespace);
    },
    async getIssuer(kind: string, namespace: string, name: string) {
      const ns = kind === 'ClusterIssuer' ? undefined : namespace;
      return kube.get<KubeObject & { spec?: { acme?: unknown } }>('cert-manager.io/v1', kind === 'ClusterIssuer' ? 'ClusterIssuer' : 'Issuer', name, ns);
    },
    async reviewAccess(user: UserInfo, check: AccessCheck): Promise<boolean> {
      // A request with no user (never from the API server) is allowed nothing.
      if (!user.username) return false;
      const review = await kube.create<KubeObject>({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        metadata: {},
        spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, resourceAttributes: { ...check } },
      });
      return (review.status as { allowed?: boolean } | undefined)?.allowed === true;
    },
  };
}
