// The object envelope. The CRD schema leaves `metadata` to the API server; the
// TypeScript type names the fields the operator reads.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { StringMap } from './schema.ts';

export const OwnerReference = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  uid: Type.String(),
  controller: Type.Optional(Type.Boolean()),
  blockOwnerDeletion: Type.Optional(Type.Boolean()),
});
export type OwnerReference = Static<typeof OwnerReference>;

export const ObjectMeta = Type.Object({
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.String()),
  deletionTimestamp: Type.Optional(Type.String()),
  labels: Type.Optional(StringMap()),
  annotations: Type.Optional(StringMap()),
  finalizers: Type.Optional(Type.Array(Type.String())),
  ownerReferences: Type.Optional(Type.Array(OwnerReference)),
});
export type ObjectMeta = Static<typeof ObjectMeta>;

export function resource<S extends TSchema, St extends TSchema>(spec: S, status: St) {
  return Type.Object({
    apiVersion: Type.String(),
    kind: Type.String(),
    metadata: Type.Optional(ObjectMeta),
    spec,
    status: Type.Optional(status),
  });
}
