// PostgresOpsRequest (ops.kubedb.com/v1alpha1).
import { Type, type Static } from '@sinclair/typebox';
import { Opaque, StringEnum } from '../../shared/schema.ts';
import { CLIENT_AUTH_MODES } from '../../shared/enums.ts';
import { opsRequest, opsSpec, tlsSpec } from './ops-request.ts';

export const POSTGRES_OPS_TYPES = [
  'UpdateVersion', 'HorizontalScaling', 'VerticalScaling', 'VolumeExpansion', 'Restart', 'Reconfigure',
  'ReconfigureTLS', 'RotateAuth', 'ReconnectStandby', 'ForceFailOver', 'SetRaftKeyPair', 'StorageMigration',
] as const;

export const PostgresTLSSpec = tlsSpec({
  clientAuthMode: Type.Optional(StringEnum(CLIENT_AUTH_MODES)),
  rotateGrpcCertificates: Type.Optional(Type.Boolean()),
});

export const PostgresOpsRequestSpec = opsSpec(POSTGRES_OPS_TYPES, PostgresTLSSpec, {
  volumeExpansion: Type.Optional(Opaque()),
  reconnectStandby: Type.Optional(Opaque()),
  forceFailOver: Type.Optional(Opaque()),
  setRaftKeyPair: Type.Optional(Opaque()),
  migration: Type.Optional(Opaque()),
});

export const PostgresOpsRequest = opsRequest(PostgresOpsRequestSpec);
export type PostgresOpsRequest = Static<typeof PostgresOpsRequest>;
