// Pieces every database kind shares: health checker, status, and the
// non-TLS blocks we carry verbatim.
import { Type, type Static } from '@sinclair/typebox';
import { Int32, Int64, Opaque, OpaqueList, StringEnum } from './schema.ts';
import { Conditions } from './condition.ts';
import { DATABASE_PHASES, DELETION_POLICIES, SSL_MODES } from './enums.ts';
import { SecretReference } from './secret-ref.ts';
import { TLSConfig } from './tls.ts';

export const HealthChecker = Type.Object(
  {
    periodSeconds: Type.Optional(Int32({ default: 10 })),
    timeoutSeconds: Type.Optional(Int32({ default: 10 })),
    failureThreshold: Type.Optional(Int32({ default: 1 })),
    disableWriteCheck: Type.Optional(Type.Boolean()),
  },
  { default: { periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 1 } },
);

export const AutoOps = Type.Object({ disabled: Type.Optional(Type.Boolean()) });

/** Fields every database kind has, TLS-relevant ones typed, the rest opaque. */
export const commonDatabaseSpec = {
  version: Type.String(),
  replicas: Type.Optional(Int32()),
  authSecret: Type.Optional(SecretReference),
  sslMode: Type.Optional(StringEnum(SSL_MODES)),
  tls: Type.Optional(TLSConfig),
  deletionPolicy: Type.Optional(StringEnum(DELETION_POLICIES)),
  healthChecker: Type.Optional(HealthChecker),
  autoOps: Type.Optional(AutoOps),
  monitor: Type.Optional(Opaque()),
  podTemplate: Type.Optional(Opaque()),
  serviceTemplates: Type.Optional(OpaqueList()),
  configuration: Type.Optional(Opaque()),
  configSecret: Type.Optional(Opaque()),
  init: Type.Optional(Opaque()),
};

export const DatabaseStatus = Type.Object(
  {
    phase: Type.Optional(StringEnum(DATABASE_PHASES)),
    observedGeneration: Type.Optional(Int64()),
    conditions: Type.Optional(Conditions),
    authSecret: Type.Optional(Type.Object({ lastUpdateTimestamp: Type.Optional(Type.String({ format: 'date-time' })) })),
  },
  // The provisioner may record more than these; status is ours, so keep what it writes.
  { 'x-kubernetes-preserve-unknown-fields': true },
);
export type DatabaseStatus = Static<typeof DatabaseStatus>;
