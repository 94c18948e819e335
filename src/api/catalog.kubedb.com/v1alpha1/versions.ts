// The version catalog (catalog.kubedb.com/v1alpha1), cluster-scoped, as KubeDB
// ships it: a DB's `spec.version` names one of these objects.
import { Type, type Static } from '@sinclair/typebox';
import { resource } from '../../shared/meta.ts';
import { Opaque } from '../../shared/schema.ts';

const Image = Type.Object({ image: Type.String() });

const common = {
  version: Type.String(),
  deprecated: Type.Optional(Type.Boolean()),
  exporter: Type.Optional(Image),
  securityContext: Type.Optional(Opaque()),
};

export const PostgresVersionSpec = Type.Object({
  ...common,
  db: Image,
  distribution: Type.Optional(Type.String()),
  coordinator: Type.Optional(Image),
  initContainer: Type.Optional(Image),
});
export const PostgresVersion = resource(PostgresVersionSpec, Opaque());
export type PostgresVersion = Static<typeof PostgresVersion>;

export const PgBouncerVersionSpec = Type.Object({ ...common, pgBouncer: Image });
export const PgBouncerVersion = resource(PgBouncerVersionSpec, Opaque());
export type PgBouncerVersion = Static<typeof PgBouncerVersion>;

export const PgpoolVersionSpec = Type.Object({ ...common, pgpool: Image });
export const PgpoolVersion = resource(PgpoolVersionSpec, Opaque());
export type PgpoolVersion = Static<typeof PgpoolVersion>;
