// SecretReference (`spec.authSecret`), as KubeDB's kubedb/v1 types.go has it.
import { Type, type Static } from '@sinclair/typebox';

export const SecretReference = Type.Object({
  name: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  apiGroup: Type.Optional(Type.String()),
  secretStoreName: Type.Optional(Type.String()),
  rotateAfter: Type.Optional(Type.String()),
  activeFrom: Type.Optional(Type.String({ format: 'date-time' })),
  externallyManaged: Type.Optional(Type.Boolean()),
});
export type SecretReference = Static<typeof SecretReference>;
