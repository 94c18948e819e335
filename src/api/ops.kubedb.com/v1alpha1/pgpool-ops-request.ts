// PgpoolOpsRequest (ops.kubedb.com/v1alpha1).
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../../shared/schema.ts';
import { CLIENT_AUTH_MODES } from '../../shared/enums.ts';
import { opsRequest, opsSpec, tlsSpec } from './ops-request.ts';

export const PGPOOL_OPS_TYPES = [
  'UpdateVersion', 'Restart', 'Reconfigure', 'VerticalScaling', 'HorizontalScaling', 'ReconfigureTLS', 'RotateAuth',
] as const;

export const PgpoolTLSSpec = tlsSpec({ clientAuthMode: Type.Optional(StringEnum(CLIENT_AUTH_MODES)) });

export const PgpoolOpsRequestSpec = opsSpec(PGPOOL_OPS_TYPES, PgpoolTLSSpec, {});

export const PgpoolOpsRequest = opsRequest(PgpoolOpsRequestSpec);
export type PgpoolOpsRequest = Static<typeof PgpoolOpsRequest>;
