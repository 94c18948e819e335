// Validators every database kind shares (kubedb-api.md §2.1, §2.6).
import { isDeepStrictEqual } from 'node:util';
import { DELETION_POLICIES, SSL_MODES, type SslMode } from '../../api/shared/enums.ts';
import type { TLSConfig } from '../../api/shared/tls.ts';
import { forbidden, invalid, notFound, required, unsupported, type FieldError } from '../field-error.ts';
import type { AdmissionFacts } from '../facts.ts';
import { validateTlsConfig } from './tls.ts';
import { validateImmutableFields, validateName } from './limits.ts';
import { certificatePolicyErrors } from './certificate-policy.ts';

export interface DatabaseLike {
  kind?: string;
  metadata?: { name?: string; namespace?: string; generateName?: string };
  spec: {
    version: string;
    storage?: unknown;
    authSecret?: { name?: string };
    replicas?: number;
    sslMode?: SslMode;
    tls?: TLSConfig;
    deletionPolicy?: string;
    halted?: boolean;
    clientAuthMode?: string;
  };
}

const quoted = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(', ');
const TLS_SSL_MODES = SSL_MODES.filter((m) => m !== 'disable');

export function validateVersion(db: DatabaseLike, _old: DatabaseLike | undefined, facts: AdmissionFacts): FieldError[] {
  const names = facts.versions.map((v) => v.name);
  if (names.includes(db.spec.version)) return [];
  if (names.length === 0) return [notFound('spec.version', db.spec.version, `no ${db.kind ?? ''}Version exists in the catalog`)];
  return [unsupported('spec.version', db.spec.version, names)];
}

/** sslMode must agree with whether TLS is configured (KubeDB validateSpecForDB). */
export function validateSslMode(db: DatabaseLike): FieldError[] {
  const { sslMode, tls } = db.spec;
  if (tls && sslMode === 'disable') {
    return [invalid('spec.sslMode', sslMode, `spec.tls is set, so TLS cannot be disabled; supported values with TLS: ${quoted(TLS_SSL_MODES)}`)];
  }
  if (!tls && sslMode && sslMode !== 'disable') {
    return [invalid('spec.sslMode', sslMode, 'spec.tls is not set; without TLS the only supported value is "disable"')];
  }
  return [];
}

/** Certificate authentication needs TLS. */
export function validateCertAuth(db: DatabaseLike): FieldError[] {
  const { clientAuthMode, sslMode, tls } = db.spec;
  if (clientAuthMode !== 'cert' || (tls && sslMode !== 'disable')) return [];
  return [invalid('spec.clientAuthMode', 'cert', 'client certificates need TLS (spec.tls and an sslMode other than "disable"); supported values without TLS: "md5", "scram"')];
}

/** Without an issuer nothing can sign the server certificate. */
export function validateTlsIssuer(db: DatabaseLike): FieldError[] {
  if (!db.spec.tls || db.spec.tls.issuerRef) return [];
  return [required('spec.tls.issuerRef', 'the cert-manager Issuer or ClusterIssuer that signs the certificates')];
}

export function tlsConfigValidator(aliases: readonly string[]) {
  return (db: DatabaseLike, old?: DatabaseLike): FieldError[] => [
    ...validateTlsConfig(db.spec.tls, 'spec.tls', aliases),
    // An unchanged TLS block is not re-judged (the policy may have tightened since it was admitted):
    // otherwise no update — not even the operator's finalizer patch — could pass.
    ...(old && isDeepStrictEqual(old.spec.tls, db.spec.tls)
      ? []
      : certificatePolicyErrors(db.spec.tls, 'spec.tls', { kind: db.kind, namespace: db.metadata?.namespace ?? '', name: db.metadata?.name ?? '' })),
  ];
}

export function validateHalted(db: DatabaseLike): FieldError[] {
  if (!db.spec.halted || db.spec.deletionPolicy !== 'DoNotTerminate') return [];
  return [forbidden('spec.halted', 'cannot halt a database whose spec.deletionPolicy is "DoNotTerminate"; change spec.deletionPolicy first')];
}

export function replicasValidator(min: number, max?: number) {
  return (db: DatabaseLike): FieldError[] => {
    const r = db.spec.replicas;
    if (r === undefined || (r >= min && (max === undefined || r <= max))) return [];
    return [invalid('spec.replicas', r, max === undefined ? `must be at least ${min}` : `must be between ${min} and ${max}`)];
  };
}

/** DELETE of a DoNotTerminate database is refused. */
export function validateDelete(db: DatabaseLike): FieldError[] {
  if (db.spec.deletionPolicy !== 'DoNotTerminate') return [];
  const others = DELETION_POLICIES.filter((p) => p !== 'DoNotTerminate');
  const who = `${db.kind ?? 'database'} ${db.metadata?.namespace ?? ''}/${db.metadata?.name ?? ''}`;
  return [forbidden('spec.deletionPolicy', `${who} has deletionPolicy "DoNotTerminate" and cannot be deleted; to delete it, first set spec.deletionPolicy to one of ${quoted(others)}`)];
}

/** The name is checked when the object is made (an existing object must stay editable and deletable). */
export function validateNewName(db: DatabaseLike, _old: DatabaseLike | undefined, facts: AdmissionFacts): FieldError[] {
  return facts.operation === 'CREATE' ? validateName(db) : [];
}

export const commonDatabaseValidators = [validateNewName, validateVersion, validateSslMode, validateCertAuth, validateTlsIssuer, validateHalted, validateImmutableFields] as const;
