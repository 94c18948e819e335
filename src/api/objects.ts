// The object types the reconcilers handle, derived from the TypeBox schemas
// (never copied by hand): a database of any kind as the provisioner sees it,
// and an ops request of any kind. `Named` marks objects read from the API
// server, whose metadata is always there.
import { Type, type Static } from '@sinclair/typebox';
import { resource, type ObjectMeta } from './shared/meta.ts';
import { commonDatabaseSpec, DatabaseStatus } from './shared/database.ts';
import type { PostgresOpsRequest } from './ops.kubedb.com/v1alpha1/postgres-ops-request.ts';
import type { PgBouncerOpsRequest } from './ops.kubedb.com/v1alpha1/pgbouncer-ops-request.ts';
import type { PgpoolOpsRequest } from './ops.kubedb.com/v1alpha1/pgpool-ops-request.ts';

export type Named<T> = T & { metadata: ObjectMeta };

/** What every database kind has (Postgres, PgBouncer and Pgpool are all assignable to it). */
export const DatabaseObject = resource(Type.Object({ ...commonDatabaseSpec, halted: Type.Optional(Type.Boolean()) }), DatabaseStatus);
export type DbObject = Named<Static<typeof DatabaseObject>>;

export type OpsObject = Named<PostgresOpsRequest | PgBouncerOpsRequest | PgpoolOpsRequest>;
export type OpsStatus = NonNullable<OpsObject['status']>;
