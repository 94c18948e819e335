// The versions the local node can run. KubeDB's guide versions (PgBouncer
// 1.24.0, Pgpool 4.6.0) are not here on purpose: the node has no binaries for
// them, so admission refuses them and names what it can run (docs/api.md).
import type { PostgresVersion, PgBouncerVersion, PgpoolVersion } from './catalog.kubedb.com/v1alpha1/versions.ts';

export type CatalogObject = PostgresVersion | PgBouncerVersion | PgpoolVersion;

const meta = (name: string) => ({ name, labels: { 'app.kubernetes.io/managed-by': 'pgtls' } });

export const DEFAULT_CATALOG: CatalogObject[] = [
  {
    apiVersion: 'catalog.kubedb.com/v1alpha1',
    kind: 'PostgresVersion',
    metadata: meta('15'),
    spec: { version: '15.18', distribution: 'Official', db: { image: 'postgres:15' } },
  },
  {
    apiVersion: 'catalog.kubedb.com/v1alpha1',
    kind: 'PostgresVersion',
    metadata: meta('18.3'),
    spec: { version: '18.3', distribution: 'Official', db: { image: 'postgres:18.3' } },
  },
  {
    apiVersion: 'catalog.kubedb.com/v1alpha1',
    kind: 'PgBouncerVersion',
    metadata: meta('1.18.0'),
    spec: { version: '1.18.0', pgBouncer: { image: 'bitnami/pgbouncer:1.18.0' } },
  },
  {
    apiVersion: 'catalog.kubedb.com/v1alpha1',
    kind: 'PgpoolVersion',
    metadata: meta('4.3.5'),
    spec: { version: '4.3.5', pgpool: { image: 'pgpool/pgpool:4.3.5' } },
  },
];
