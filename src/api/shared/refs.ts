// Object references used by the KubeDB kinds.
import { Type, type Static } from '@sinclair/typebox';

/** core.LocalObjectReference: a name in the referrer's namespace. */
export const LocalObjectReference = Type.Object({ name: Type.String() });
export type LocalObjectReference = Static<typeof LocalObjectReference>;

/** core.TypedLocalObjectReference; `tls.issuerRef` uses it (kind and name required as in KubeDB's CRD). */
export const TypedLocalObjectReference = Type.Object({
  apiGroup: Type.Optional(Type.String()),
  kind: Type.String(),
  name: Type.String(),
});
export type TypedLocalObjectReference = Static<typeof TypedLocalObjectReference>;

/** appcat AppReference (PgBouncer `database.databaseRef`): both fields required. */
export const AppReference = Type.Object({ namespace: Type.String(), name: Type.String() });
export type AppReference = Static<typeof AppReference>;

/** kmapi ObjectReference (Pgpool `postgresRef`): namespace defaults to the referrer's. */
export const ObjectReference = Type.Object({ namespace: Type.Optional(Type.String()), name: Type.String() });
export type ObjectReference = Static<typeof ObjectReference>;
