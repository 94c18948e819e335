// The shared part of the three ops-request kinds (kubedb-api.md §4.1, §4.3).
import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import { Int32, Int64, Opaque, StringEnum } from '../../shared/schema.ts';
import { resource } from '../../shared/meta.ts';
import { Conditions } from '../../shared/condition.ts';
import { OPS_APPLY, OPS_PHASES, SSL_MODES } from '../../shared/enums.ts';
import { LocalObjectReference } from '../../shared/refs.ts';
import { tlsConfigProperties } from '../../shared/tls.ts';

/** TLSSpec: the inline TLSConfig plus the operation flags, then kind-specific fields. */
export function tlsSpec<P extends TProperties>(extra: P) {
  return Type.Object({
    ...tlsConfigProperties,
    rotateCertificates: Type.Optional(Type.Boolean()),
    remove: Type.Optional(Type.Boolean()),
    sslMode: Type.Optional(StringEnum(SSL_MODES)),
    ...extra,
  });
}

/** Blocks of the other op types: carried verbatim, not acted on by this operator's TLS path. */
const otherOpBlocks = {
  updateVersion: Type.Optional(Opaque()),
  horizontalScaling: Type.Optional(Opaque()),
  verticalScaling: Type.Optional(Opaque()),
  configuration: Type.Optional(Opaque()),
  authentication: Type.Optional(Opaque()),
  restart: Type.Optional(Opaque()),
};

export function opsSpec<T extends TSchema, P extends TProperties>(types: readonly string[], tls: T, extra: P) {
  return Type.Object({
    databaseRef: LocalObjectReference,
    type: StringEnum(types),
    tls: Type.Optional(tls),
    timeout: Type.Optional(Type.String()),
    apply: Type.Optional(StringEnum(OPS_APPLY, { default: 'IfReady' })),
    maxRetries: Type.Optional(Int32({ default: 1 })),
    ...otherOpBlocks,
    ...extra,
  });
}

export const PausedBackup = Type.Object({
  apiGroup: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
});

/**
 * pgtls's own progress notes (not KubeDB's): in status, which only the
 * ops-manager writes (the status subresource), never in annotations the
 * request's creator may edit; still validated whenever they are read.
 */
export const OpsProgress = Type.Object({
  /** What the request means, recorded when it starts (validated against the spec on every read). */
  plan: Type.Optional(Opaque()),
  /** Certificate revisions before a rotation, by Certificate name. */
  revisions: Type.Optional(Type.Unsafe<Record<string, number>>({ type: 'object', additionalProperties: { type: 'integer', format: 'int64', minimum: 0 } })),
  /** The step whose clock runs, and since when (spec.timeout applies per step). */
  step: Type.Optional(Type.Object({ name: Type.String(), startedAt: Type.String({ format: 'date-time' }) })),
  /** Failed attempts so far (spec.maxRetries bounds them). */
  retries: Type.Optional(Int32({ minimum: 0 })),
  /** SHA-256 of the last working TLS material saved when the request started (checked before a rollback uses it). */
  lastWorking: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  /** The pod a restart rollout evicted and waits for: `<pod> <uid> <ms since epoch>` (rollout.ts). */
  restarting: Type.Optional(Type.String({ pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])? [-0-9a-zA-Z]+ [0-9]+$', maxLength: 400 })),
});
export type OpsProgress = Static<typeof OpsProgress>;

export const OpsRequestStatus = Type.Object({
  phase: Type.Optional(StringEnum(OPS_PHASES)),
  observedGeneration: Type.Optional(Int64()),
  conditions: Type.Optional(Conditions),
  pausedBackups: Type.Optional(Type.Array(PausedBackup)),
  progress: Type.Optional(OpsProgress),
});
export type OpsRequestStatus = Static<typeof OpsRequestStatus>;

export function opsRequest<S extends TSchema>(spec: S) {
  return resource(spec, OpsRequestStatus);
}

/** "Completed" in KubeDB's sense (isOpsReqCompleted): the DB gets resumed. */
export function isOpsCompleted(phase: string | undefined): boolean {
  return phase === 'Successful' || phase === 'Failed';
}
