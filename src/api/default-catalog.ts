// The versions pgtls runs: one catalog object per image it builds
// (src/images/catalog.ts, docs/images.md), with the image's user in
// spec.securityContext as KubeDB's catalog has it (the pods run as that user,
// fsGroup the same). KubeDB's guide versions PgBouncer 1.24.0 and Pgpool
// 4.6.0 are not here on purpose: no Debian suite carries those releases (it
// has 1.24.1 and 4.6.1, which are), so admission refuses them and names what
// runs (docs/api.md).
import type { PostgresVersion, PgBouncerVersion, PgpoolVersion } from './catalog.kubedb.com/v1alpha1/versions.ts';

export type CatalogObject = PostgresVersion | PgBouncerVersion | PgpoolVersion;

/** Where pgtls's own images live: never on the internet (docs/images.md). */
export const IMAGE_PREFIX = 'localhost/pgtls';

const meta = (name: string) => ({ name, labels: { 'app.kubernetes.io/managed-by': 'pgtls' } });
/** Docker's official Debian-based postgres user. */
const POSTGRES_USER = { runAsUser: 999, runAsAnyNonRoot: false };
/** The Alpine postgres user of KubeDB's PgBouncer and pgpool/pgpool images (and ours). */
const POOLER_USER = { runAsUser: 70, runAsAnyNonRoot: false };

const postgres = (name: string, version: string, tag: string): PostgresVersion => ({
  apiVersion: 'catalog.kubedb.com/v1alpha1',
  kind: 'PostgresVersion',
  metadata: meta(name),
  spec: { version, distribution: 'Official', db: { image: `${IMAGE_PREFIX}/postgres:${tag}` }, securityContext: POSTGRES_USER },
});
const pgbouncer = (version: string): PgBouncerVersion => ({
  apiVersion: 'catalog.kubedb.com/v1alpha1',
  kind: 'PgBouncerVersion',
  metadata: meta(version),
  spec: { version, pgBouncer: { image: `${IMAGE_PREFIX}/pgbouncer:${version}` }, securityContext: POOLER_USER },
});
const pgpool = (version: string): PgpoolVersion => ({
  apiVersion: 'catalog.kubedb.com/v1alpha1',
  kind: 'PgpoolVersion',
  metadata: meta(version),
  spec: { version, pgpool: { image: `${IMAGE_PREFIX}/pgpool:${version}` }, securityContext: POOLER_USER },
});

export const DEFAULT_CATALOG: CatalogObject[] = [
  // The 15 and 17 images carry whatever 15.x / 17.x their Debian suite has (the image's labels record it).
  postgres('15', '15.18', '15'),
  postgres('17', '17.12', '17'),
  postgres('18.3', '18.3', '18.3'),
  pgbouncer('1.18.0'),
  pgbouncer('1.24.1'),
  pgpool('4.3.5'),
  pgpool('4.6.1'),
];

/** Every image the default catalog names. */
export const catalogImageRefs = (catalog: CatalogObject[] = DEFAULT_CATALOG): string[] =>
  catalog.map((c) => ('db' in c.spec ? c.spec.db.image : 'pgBouncer' in c.spec ? c.spec.pgBouncer.image : c.spec.pgpool.image));
