// Ops-request admission rules (KubeDB pkg/webhooks/ops/v1alpha1, kubedb-api.md §4.4),
// plus checks of ReconfigureTLS requests that KubeDB leaves to fail at run time.
import { isDeepStrictEqual } from 'node:util';
import { OPS_TYPES, OPS_TARGET, type OpsKind } from '../../api/kinds.ts';
import { forbidden, invalid, notFound, required, type FieldError } from '../field-error.ts';
import type { AdmissionFacts } from '../facts.ts';
import type { OpsRequest } from '../defaults/ops-request.ts';
import type { Validator } from './types.ts';
import { validateDuration, validateTlsConfig } from './tls.ts';
import { validateOpsBounds } from './limits.ts';
import { certificatePolicyErrors } from './certificate-policy.ts';
import { POSTGRES_CERT_ALIASES } from './postgres.ts';
import { PGBOUNCER_CERT_ALIASES } from './pgbouncer.ts';
import { PGPOOL_CERT_ALIASES } from './pgpool.ts';

type TlsSpec = NonNullable<OpsRequest['spec']['tls']>;

const ALIASES: Record<OpsKind, readonly string[]> = {
  PostgresOpsRequest: POSTGRES_CERT_ALIASES,
  PgBouncerOpsRequest: PGBOUNCER_CERT_ALIASES,
  PgpoolOpsRequest: PGPOOL_CERT_ALIASES,
};

const kindOf = (ops: OpsRequest) => ops.kind as OpsKind;
const isTls = (ops: OpsRequest) => ops.spec.type === 'ReconfigureTLS';
const dbLabel = (ops: OpsRequest) => `${OPS_TARGET[kindOf(ops)].kind} ${ops.metadata?.namespace ?? ''}/${ops.spec.databaseRef?.name ?? ''}`;

export const validateType: Validator<OpsRequest> = (ops) => {
  const types = OPS_TYPES[kindOf(ops)];
  if (types.includes(ops.spec.type)) return [];
  return [invalid('spec.type', ops.spec.type, `defined OpsRequestType ${ops.spec.type} is not supported, supported types for ${ops.kind} are ${types.join(', ')}`)];
};

export const validateDatabaseRef: Validator<OpsRequest> = (ops, _old, facts) => {
  if (facts.target !== null) return [];
  return [notFound('spec.databaseRef.name', ops.spec.databaseRef?.name ?? '', `no ${OPS_TARGET[kindOf(ops)].kind} of that name in namespace "${ops.metadata?.namespace ?? ''}"`)];
};

export const validateTimeout: Validator<OpsRequest> = (ops) => [...validateDuration(ops.spec.timeout, 'spec.timeout'), ...validateOpsBounds(ops)];

export const validateTlsPresent: Validator<OpsRequest> = (ops) => {
  if (!isTls(ops) || ops.spec.tls) return [];
  return [required('spec.tls', '`spec.tls` nil not supported in ReconfigureTLS type')];
};

export const validateTlsBlock: Validator<OpsRequest> = (ops) => {
  if (!isTls(ops) || !ops.spec.tls) return [];
  const target = { kind: ops.kind, namespace: ops.metadata?.namespace ?? '', name: ops.spec.databaseRef?.name ?? '' };
  return [...validateTlsConfig(ops.spec.tls, 'spec.tls', ALIASES[kindOf(ops)]), ...certificatePolicyErrors(ops.spec.tls, 'spec.tls', target)];
};

const OPERATION_FIELDS = ['issuerRef', 'certificates', 'rotateCertificates', 'remove', 'sslMode', 'clientAuthMode'] as const;

/** `remove` means one thing only; mixing it with an issuer or a rotation contradicts it. */
function removeConflicts(tls: TlsSpec): FieldError[] {
  const errs: FieldError[] = [];
  if (tls.rotateCertificates) errs.push(forbidden('spec.tls.rotateCertificates', 'may not be combined with spec.tls.remove: there is nothing left to rotate'));
  if (tls.issuerRef) errs.push(forbidden('spec.tls.issuerRef', 'may not be combined with spec.tls.remove: removing TLS needs no issuer'));
  if (tls.certificates?.length) errs.push(forbidden('spec.tls.certificates', 'may not be combined with spec.tls.remove: removing TLS issues no certificates'));
  if (tls.sslMode && tls.sslMode !== 'disable') errs.push(invalid('spec.tls.sslMode', tls.sslMode, 'TLS is being removed; the only supported value is "disable"'));
  if (tls.clientAuthMode === 'cert') errs.push(invalid('spec.tls.clientAuthMode', 'cert', 'client certificates need TLS, which this request removes; supported values: "md5", "scram"'));
  return errs;
}

export const validateTlsOperation: Validator<OpsRequest> = (ops, _old, facts) => {
  const tls = ops.spec.tls;
  if (!isTls(ops) || !tls) return [];
  const given = OPERATION_FIELDS.filter((f) => tls[f] !== undefined && tls[f] !== false);
  if (given.length === 0) return [required('spec.tls', `say what to change: one of ${OPERATION_FIELDS.map((f) => `spec.tls.${f}`).join(', ')}`)];
  if (tls.remove) return [...removeConflicts(tls), ...removeNeedsAuthMode(ops, tls, facts)];
  if (tls.sslMode === 'disable') return [invalid('spec.tls.sslMode', 'disable', 'turns TLS off; to remove TLS set spec.tls.remove: true, otherwise use one of "allow", "prefer", "require", "verify-ca", "verify-full"')];
  return [];
};

/** The database stays valid only if it moves off certificate authentication (see defaults/ops-request.ts). */
function removeNeedsAuthMode(ops: OpsRequest, tls: TlsSpec, facts: AdmissionFacts): FieldError[] {
  const mode = (facts.target?.spec as { clientAuthMode?: string } | undefined)?.clientAuthMode;
  if (mode !== 'cert' || tls.clientAuthMode || kindOf(ops) === 'PgBouncerOpsRequest') return [];
  return [required('spec.tls.clientAuthMode', `${dbLabel(ops)} uses clientAuthMode "cert", which needs TLS; supported values: "md5", "scram"`)];
}

/** Checks against the database's current TLS state. */
export const validateAgainstDatabase: Validator<OpsRequest> = (ops, _old, facts) => {
  const tls = ops.spec.tls;
  const db = facts.target;
  if (!isTls(ops) || !tls || !db) return [];
  const hasTls = Boolean(db.spec.tls);
  if (!hasTls && tls.remove) return [invalid('spec.tls.remove', true, `${dbLabel(ops)} has no TLS to remove`)];
  if (!hasTls && !tls.remove && !tls.issuerRef) {
    return [required('spec.tls.issuerRef', `${dbLabel(ops)} has no TLS yet; adding TLS needs the Issuer or ClusterIssuer that signs its certificates`)];
  }
  return [];
};

/** KubeDB: the spec of an ops request never changes; a new request is the way to ask again. */
export const validateSpecImmutable: Validator<OpsRequest> = (ops, old) => {
  if (!old || isDeepStrictEqual(old.spec, ops.spec)) return [];
  return [forbidden('spec', 'the spec of an ops request is immutable; create a new ops request instead')];
};

/** Run on CREATE: everything that depends on the request's content and the database's state. */
export const opsCreateValidators: readonly Validator<OpsRequest>[] = [
  validateType,
  validateDatabaseRef,
  validateTimeout,
  validateTlsPresent,
  validateTlsBlock,
  validateTlsOperation,
  validateAgainstDatabase,
];

/**
 * Run on UPDATE: the spec is frozen, so its content was checked at creation;
 * re-checking against the database would refuse the ops-manager's own status
 * updates once the request has changed that database.
 */
export const opsUpdateValidators: readonly Validator<OpsRequest>[] = [validateSpecImmutable];
