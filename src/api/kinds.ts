// Every kind this API serves, with what its CRD needs: one table that the CRD
// builder, the webhook registration and the webhook router all read.
import type { TSchema } from '@sinclair/typebox';
import { Postgres } from './kubedb.com/v1/postgres.ts';
import { PgBouncer } from './kubedb.com/v1/pgbouncer.ts';
import { Pgpool } from './kubedb.com/v1alpha2/pgpool.ts';
import { PostgresOpsRequest, POSTGRES_OPS_TYPES } from './ops.kubedb.com/v1alpha1/postgres-ops-request.ts';
import { PgBouncerOpsRequest, PGBOUNCER_OPS_TYPES } from './ops.kubedb.com/v1alpha1/pgbouncer-ops-request.ts';
import { PgpoolOpsRequest, PGPOOL_OPS_TYPES } from './ops.kubedb.com/v1alpha1/pgpool-ops-request.ts';
import { PostgresVersion, PgBouncerVersion, PgpoolVersion } from './catalog.kubedb.com/v1alpha1/versions.ts';
import { AppBinding } from './appcatalog.appscode.com/v1alpha1/appbinding.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
}

export interface KindInfo {
  kind: string;
  group: string;
  version: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  scope: 'Namespaced' | 'Cluster';
  schema: TSchema;
  printerColumns: PrinterColumn[];
  statusSubresource: boolean;
}

const DB_CATEGORIES = ['datastore', 'kubedb', 'appscode', 'all'];
const OPS_CATEGORIES = ['ops', 'kubedb', 'appscode'];
const CATALOG_CATEGORIES = ['catalog', 'kubedb', 'appscode'];
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const dbColumns: PrinterColumn[] = [
  { name: 'Version', type: 'string', jsonPath: '.spec.version' },
  { name: 'Status', type: 'string', jsonPath: '.status.phase' },
  age,
];
// KubeDB's v1alpha2-only kinds carried a `Type` column (the apiVersion) in the
// release the guides show (`kubectl get pp`: NAME TYPE VERSION STATUS AGE).
const v1alpha2DbColumns: PrinterColumn[] = [{ name: 'Type', type: 'string', jsonPath: '.apiVersion' }, ...dbColumns];
const opsColumns: PrinterColumn[] = [
  { name: 'Type', type: 'string', jsonPath: '.spec.type' },
  { name: 'Status', type: 'string', jsonPath: '.status.phase' },
  age,
];
// As KubeDB's catalog CRDs print them (PostgresVersion adds Distribution before the image).
const catalogColumns = (imageColumn: string, imagePath: string, before: PrinterColumn[] = []): PrinterColumn[] => [
  { name: 'Version', type: 'string', jsonPath: '.spec.version' },
  ...before,
  { name: imageColumn, type: 'string', jsonPath: imagePath },
  { name: 'Deprecated', type: 'boolean', jsonPath: '.spec.deprecated' },
  age,
];

function db<K extends string>(kind: K, version: string, plural: string, shortName: string, schema: TSchema): KindInfo & { kind: K } {
  return {
    kind, group: 'kubedb.com', version, plural, singular: kind.toLowerCase(), shortNames: [shortName],
    categories: DB_CATEGORIES, scope: 'Namespaced', schema, printerColumns: version === 'v1alpha2' ? v1alpha2DbColumns : dbColumns, statusSubresource: true,
  };
}

function ops(kind: string, plural: string, shortName: string, schema: TSchema): KindInfo {
  return {
    kind, group: 'ops.kubedb.com', version: 'v1alpha1', plural, singular: kind.toLowerCase(), shortNames: [shortName],
    categories: OPS_CATEGORIES, scope: 'Namespaced', schema, printerColumns: opsColumns, statusSubresource: true,
  };
}

function catalog(kind: string, plural: string, shortName: string, schema: TSchema, columns: PrinterColumn[]): KindInfo {
  return {
    kind, group: 'catalog.kubedb.com', version: 'v1alpha1', plural, singular: kind.toLowerCase(), shortNames: [shortName],
    categories: CATALOG_CATEGORIES, scope: 'Cluster', schema, printerColumns: columns, statusSubresource: false,
  };
}

export const POSTGRES = db('Postgres', 'v1', 'postgreses', 'pg', Postgres);
export const PGBOUNCER = db('PgBouncer', 'v1', 'pgbouncers', 'pb', PgBouncer);
export const PGPOOL = db('Pgpool', 'v1alpha2', 'pgpools', 'pp', Pgpool);
export const POSTGRES_OPS = ops('PostgresOpsRequest', 'postgresopsrequests', 'pgops', PostgresOpsRequest);
export const PGBOUNCER_OPS = ops('PgBouncerOpsRequest', 'pgbounceropsrequests', 'pbops', PgBouncerOpsRequest);
export const PGPOOL_OPS = ops('PgpoolOpsRequest', 'pgpoolopsrequests', 'ppops', PgpoolOpsRequest);
export const POSTGRES_VERSION = catalog('PostgresVersion', 'postgresversions', 'pgversion', PostgresVersion, catalogColumns('DB_IMAGE', '.spec.db.image', [{ name: 'Distribution', type: 'string', jsonPath: '.spec.distribution' }]));
export const PGBOUNCER_VERSION = catalog('PgBouncerVersion', 'pgbouncerversions', 'pbversion', PgBouncerVersion, catalogColumns('PGBOUNCER_IMAGE', '.spec.pgBouncer.image'));
export const PGPOOL_VERSION = catalog('PgpoolVersion', 'pgpoolversions', 'ppversion', PgpoolVersion, catalogColumns('PGPOOL_IMAGE', '.spec.pgpool.image'));

/** AppBinding, as kmodules' CRD has it: no short name, no status; `kubectl get all` lists it. */
export const APPBINDING: KindInfo = {
  kind: 'AppBinding', group: 'appcatalog.appscode.com', version: 'v1alpha1', plural: 'appbindings', singular: 'appbinding', shortNames: [],
  categories: ['catalog', 'appscode', 'all'], scope: 'Namespaced', schema: AppBinding, statusSubresource: false,
  printerColumns: [{ name: 'Type', type: 'string', jsonPath: '.spec.type' }, { name: 'Version', type: 'string', jsonPath: '.spec.version' }, age],
};

export const DATABASE_KINDS = [POSTGRES, PGBOUNCER, PGPOOL] as const;
export const OPS_KINDS = [POSTGRES_OPS, PGBOUNCER_OPS, PGPOOL_OPS] as const;
export const CATALOG_KINDS = [POSTGRES_VERSION, PGBOUNCER_VERSION, PGPOOL_VERSION] as const;
export const APPCATALOG_KINDS = [APPBINDING] as const;
export const ALL_KINDS: readonly KindInfo[] = [...DATABASE_KINDS, ...OPS_KINDS, ...CATALOG_KINDS, ...APPCATALOG_KINDS];

export type DatabaseKind = 'Postgres' | 'PgBouncer' | 'Pgpool';
export type OpsKind = 'PostgresOpsRequest' | 'PgBouncerOpsRequest' | 'PgpoolOpsRequest';

/** Which database kind an ops kind targets, and which catalog kind a database kind reads. */
export const OPS_TARGET: Record<OpsKind, KindInfo> = {
  PostgresOpsRequest: POSTGRES,
  PgBouncerOpsRequest: PGBOUNCER,
  PgpoolOpsRequest: PGPOOL,
};
export const VERSION_KIND: Record<DatabaseKind, KindInfo> = {
  Postgres: POSTGRES_VERSION,
  PgBouncer: PGBOUNCER_VERSION,
  Pgpool: PGPOOL_VERSION,
};
export const OPS_TYPES: Record<OpsKind, readonly string[]> = {
  PostgresOpsRequest: POSTGRES_OPS_TYPES,
  PgBouncerOpsRequest: PGBOUNCER_OPS_TYPES,
  PgpoolOpsRequest: PGPOOL_OPS_TYPES,
};

export const apiVersionOf = (k: KindInfo) => `${k.group}/${k.version}`;
