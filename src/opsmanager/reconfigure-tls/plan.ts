// What a ReconfigureTLS request means for one database: which operation it
// is, and the TLS part of the database spec once it is done (the spec the
// UpdateDatabase step writes and the provisioner then agrees with).
import type { CertificateSpec, TLSConfig } from '../../api/shared/tls.ts';
import type { SslMode } from '../../api/shared/enums.ts';

export type TlsOperation = 'add' | 'remove' | 'rotate' | 'change-issuer' | 'update' | 'none';

/** The TLS-relevant fields of a database, engine-neutral (PgBouncer's authType mapped in and out by the caller). */
export interface DbTls {
  tls?: TLSConfig;
  sslMode: SslMode;
  /** The kind's own value (PgBouncer: md5 or scram-sha-256). */
  clientAuthMode: string;
}

export interface OpsTls extends TLSConfig {
  rotateCertificates?: boolean;
  remove?: boolean;
  sslMode?: SslMode;
  clientAuthMode?: string;
}

export interface TlsPlan {
  operation: TlsOperation;
  /** Certificates must be re-issued even though their spec is unchanged. */
  rotate: boolean;
  next: DbTls;
}

/** The plan as recorded on the request: also what the database was before, for a rollback. */
export interface StoredPlan extends TlsPlan {
  from: DbTls;
}

export class PlanError extends Error {}

/** Merges request certificates into the database's, alias by alias. */
export function mergeCertificates(current: CertificateSpec[] = [], requested: CertificateSpec[] = []): CertificateSpec[] {
  const out = current.map((c) => ({ ...c }));
  for (const r of requested) {
    const i = out.findIndex((c) => c.alias === r.alias);
    if (i >= 0) out[i] = { ...out[i]!, ...r };
    else out.push({ ...r });
  }
  return out;
}

const sameIssuer = (a?: TLSConfig['issuerRef'], b?: TLSConfig['issuerRef']) =>
  (a?.name ?? '') === (b?.name ?? '') && (a?.kind ?? '') === (b?.kind ?? '') && (a?.apiGroup ?? 'cert-manager.io') === (b?.apiGroup ?? 'cert-manager.io');

/**
 * @param defaultAuth the clientAuthMode to fall back to when TLS is removed from
 *   a database that authenticated clients by certificate.
 */
export function planTls(db: DbTls, req: OpsTls, defaultAuth: string): TlsPlan {
  if (req.remove) {
    if (req.rotateCertificates || req.issuerRef || req.certificates?.length) {
      throw new PlanError('spec.tls.remove cannot be combined with rotateCertificates, issuerRef or certificates');
    }
    if (!db.tls) throw new PlanError('TLS is not enabled on the database; there is nothing to remove');
    if (req.clientAuthMode === 'cert') throw new PlanError('spec.tls.clientAuthMode: Unsupported value: "cert": certificate authentication needs TLS');
    const clientAuthMode = req.clientAuthMode ?? (db.clientAuthMode === 'cert' ? defaultAuth : db.clientAuthMode);
    return { operation: 'remove', rotate: false, next: { sslMode: 'disable', clientAuthMode } };
  }
  if (req.sslMode === 'disable') throw new PlanError('spec.tls.sslMode: Invalid value: "disable": use remove: true to turn TLS off');
  if (!db.tls) {
    if (!req.issuerRef) throw new PlanError('spec.tls.issuerRef: Required value: adding TLS needs an Issuer or ClusterIssuer');
    return {
      operation: 'add',
      rotate: false,
      next: {
        tls: { issuerRef: req.issuerRef, certificates: mergeCertificates([], req.certificates) },
        sslMode: req.sslMode ?? 'verify-full',
        clientAuthMode: req.clientAuthMode ?? db.clientAuthMode,
      },
    };
  }
  const issuerChanged = req.issuerRef !== undefined && !sameIssuer(req.issuerRef, db.tls.issuerRef);
  const certificates = mergeCertificates(db.tls.certificates, req.certificates);
  const certsChanged = JSON.stringify(certificates) !== JSON.stringify(db.tls.certificates ?? []);
  const next: DbTls = {
    tls: { issuerRef: req.issuerRef ?? db.tls.issuerRef, certificates },
    sslMode: req.sslMode ?? db.sslMode,
    clientAuthMode: req.clientAuthMode ?? db.clientAuthMode,
  };
  const modesChanged = next.sslMode !== db.sslMode || next.clientAuthMode !== db.clientAuthMode;
  const operation: TlsOperation = issuerChanged ? 'change-issuer' : req.rotateCertificates ? 'rotate' : certsChanged || modesChanged ? 'update' : 'none';
  return { operation, rotate: !!req.rotateCertificates, next };
}
