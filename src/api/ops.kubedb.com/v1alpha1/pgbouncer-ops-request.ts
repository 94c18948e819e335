// PgBouncerOpsRequest (ops.kubedb.com/v1alpha1). Its clientAuthMode uses
// PgBouncer's auth_type names, not Postgres's.
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../../shared/schema.ts';
import { PGBOUNCER_AUTH_TYPES } from '../../shared/enums.ts';
import { opsRequest, opsSpec, tlsSpec } from './ops-request.ts';

export const PGBOUNCER_OPS_TYPES = [
  'HorizontalScaling', 'VerticalScaling', 'UpdateVersion', 'Reconfigure', 'RotateAuth', 'Restart', 'ReconfigureTLS',
] as const;

export const PgBouncerTLSSpec = tlsSpec({ clientAuthMode: Type.Optional(StringEnum(PGBOUNCER_AUTH_TYPES)) });

export const PgBouncerOpsRequestSpec = opsSpec(PGBOUNCER_OPS_TYPES, PgBouncerTLSSpec, {});

export const PgBouncerOpsRequest = opsRequest(PgBouncerOpsRequestSpec);
export type PgBouncerOpsRequest = Static<typeof PgBouncerOpsRequest>;
