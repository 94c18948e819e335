// Pgpool (kubedb.com/v1alpha2, its only version): kubedb-api.md §2.4.
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../../shared/schema.ts';
import { resource } from '../../shared/meta.ts';
import { commonDatabaseSpec, DatabaseStatus } from '../../shared/database.ts';
import { CLIENT_AUTH_MODES } from '../../shared/enums.ts';
import { ObjectReference } from '../../shared/refs.ts';

export const PgpoolSpec = Type.Object({
  ...commonDatabaseSpec,
  postgresRef: ObjectReference,
  syncUsers: Type.Optional(Type.Boolean()),
  // KubeDB's CRD defaults it; the webhook does too for objects written before the CRD.
  clientAuthMode: Type.Optional(StringEnum(CLIENT_AUTH_MODES, { default: 'md5' })),
  initConfig: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true })),
});
export type PgpoolSpec = Static<typeof PgpoolSpec>;

export const Pgpool = resource(PgpoolSpec, DatabaseStatus);
export type Pgpool = Static<typeof Pgpool>;
