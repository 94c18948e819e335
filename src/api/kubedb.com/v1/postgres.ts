// Postgres (kubedb.com/v1, storage version): kubedb-api.md §2.2.
import { Type, type Static } from '@sinclair/typebox';
import { Opaque, OpaqueList, StringEnum } from '../../shared/schema.ts';
import { resource } from '../../shared/meta.ts';
import { commonDatabaseSpec, DatabaseStatus } from '../../shared/database.ts';
import { CLIENT_AUTH_MODES, STORAGE_TYPES } from '../../shared/enums.ts';

export const POSTGRES_MODES = ['Standalone', 'RemoteReplica', 'Cluster'] as const;
export const STANDBY_MODES = ['Hot', 'Warm'] as const;
export const STREAMING_MODES = ['Synchronous', 'Asynchronous'] as const;

export const PostgresSpec = Type.Object({
  ...commonDatabaseSpec,
  mode: Type.Optional(StringEnum(POSTGRES_MODES)),
  standbyMode: Type.Optional(StringEnum(STANDBY_MODES)),
  streamingMode: Type.Optional(StringEnum(STREAMING_MODES)),
  storageType: Type.Optional(StringEnum(STORAGE_TYPES)),
  storage: Type.Optional(Opaque()),
  clientAuthMode: Type.Optional(StringEnum(CLIENT_AUTH_MODES)),
  halted: Type.Optional(Type.Boolean()),
  leaderElection: Type.Optional(Opaque()),
  arbiter: Type.Optional(Opaque()),
  readReplicas: Type.Optional(OpaqueList()),
  replication: Type.Optional(Opaque()),
  archiver: Type.Optional(Opaque()),
  distributed: Type.Optional(Type.Boolean()),
  allowedSchemas: Type.Optional(Opaque()),
});
export type PostgresSpec = Static<typeof PostgresSpec>;

export const Postgres = resource(PostgresSpec, DatabaseStatus);
export type Postgres = Static<typeof Postgres>;
