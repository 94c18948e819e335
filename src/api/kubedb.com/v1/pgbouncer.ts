// PgBouncer (kubedb.com/v1, storage version): kubedb-api.md §2.3.
import { Type, type Static } from '@sinclair/typebox';
import { Int32, Int64, StringEnum } from '../../shared/schema.ts';
import { resource } from '../../shared/meta.ts';
import { commonDatabaseSpec, DatabaseStatus } from '../../shared/database.ts';
import { PGBOUNCER_AUTH_TYPES } from '../../shared/enums.ts';
import { AppReference } from '../../shared/refs.ts';

export const POOL_MODES = ['session', 'transaction', 'statement'] as const;

export const PgBouncerDatabase = Type.Object({
  syncUsers: Type.Optional(Type.Boolean()),
  databaseRef: AppReference,
  databaseName: Type.String(),
});

export const ConnectionPool = Type.Object({
  port: Type.Optional(Int32()),
  poolMode: Type.Optional(StringEnum(POOL_MODES)),
  authType: Type.Optional(StringEnum(PGBOUNCER_AUTH_TYPES)),
  maxClientConnections: Type.Optional(Int64()),
  defaultPoolSize: Type.Optional(Int64()),
  minPoolSize: Type.Optional(Int64()),
  reservePoolSize: Type.Optional(Int64()),
  reservePoolTimeoutSeconds: Type.Optional(Int64()),
  maxDBConnections: Type.Optional(Int64()),
  maxUserConnections: Type.Optional(Int64()),
  statsPeriodSeconds: Type.Optional(Int64()),
  ignoreStartupParameters: Type.Optional(Type.String()),
  authUser: Type.Optional(Type.String()),
  serverResetQuery: Type.Optional(Type.String()),
});
export type ConnectionPool = Static<typeof ConnectionPool>;

export const PgBouncerSpec = Type.Object({
  ...commonDatabaseSpec,
  database: PgBouncerDatabase,
  connectionPool: Type.Optional(ConnectionPool),
  halted: Type.Optional(Type.Boolean()),
});
export type PgBouncerSpec = Static<typeof PgBouncerSpec>;

export const PgBouncer = resource(PgBouncerSpec, DatabaseStatus);
export type PgBouncer = Static<typeof PgBouncer>;
