// kmodules Condition: lastTransitionTime is required, as in KubeDB's CRDs.
import { Type, type Static } from '@sinclair/typebox';
import { Int64, StringEnum } from './schema.ts';

export const Condition = Type.Object({
  type: Type.String(),
  status: StringEnum(['True', 'False', 'Unknown']),
  observedGeneration: Type.Optional(Int64()),
  severity: Type.Optional(Type.String()),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition);
