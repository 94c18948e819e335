// Validators of a TLSConfig block, shared by the database kinds and the ops requests.
import type { TLSConfig, CertificateSpec } from '../../api/shared/tls.ts';
import { CERT_MANAGER_GROUP, ISSUER_KINDS } from '../../api/shared/enums.ts';
import { duplicate, invalid, required, unsupported, type FieldError } from '../field-error.ts';
import { validateCertificateTimes } from './limits.ts';

type IssuerRef = { apiGroup?: string; kind?: string; name?: string };

export function validateIssuerRef(ref: IssuerRef | undefined, path: string): FieldError[] {
  if (!ref) return [];
  const errs: FieldError[] = [];
  if (ref.apiGroup !== undefined && ref.apiGroup !== CERT_MANAGER_GROUP) errs.push(unsupported(`${path}.apiGroup`, ref.apiGroup, [CERT_MANAGER_GROUP]));
  if (!ref.kind) errs.push(required(`${path}.kind`, `one of ${ISSUER_KINDS.map((k) => `"${k}"`).join(', ')}`));
  else if (!(ISSUER_KINDS as readonly string[]).includes(ref.kind)) errs.push(unsupported(`${path}.kind`, ref.kind, ISSUER_KINDS));
  if (!ref.name) errs.push(required(`${path}.name`, 'the name of the cert-manager issuer'));
  return errs;
}

// Go's time.ParseDuration syntax, which cert-manager uses for duration/renewBefore.
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

export function validateDuration(value: string | undefined, path: string): FieldError[] {
  if (value === undefined || GO_DURATION.test(value)) return [];
  return [invalid(path, value, 'must be a duration such as "2160h" or "90m" (units: h, m, s, ms)')];
}

function validateCertificate(c: CertificateSpec, path: string, aliases: readonly string[]): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.alias) errs.push(required(`${path}.alias`, `one of ${aliases.map((a) => `"${a}"`).join(', ')}`));
  else if (!aliases.includes(c.alias)) errs.push(unsupported(`${path}.alias`, c.alias, aliases));
  errs.push(...validateIssuerRef(c.issuerRef, `${path}.issuerRef`));
  errs.push(...validateDuration(c.duration, `${path}.duration`));
  errs.push(...validateDuration(c.renewBefore, `${path}.renewBefore`));
  errs.push(...validateCertificateTimes(c, path));
  return errs;
}

export function validateCertificates(certs: CertificateSpec[] | undefined, path: string, aliases: readonly string[]): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (certs ?? []).forEach((c, i) => {
    errs.push(...validateCertificate(c, `${path}[${i}]`, aliases));
    if (c.alias && seen.has(c.alias)) errs.push(duplicate(`${path}[${i}].alias`, c.alias));
    seen.add(c.alias);
  });
  return errs;
}

/** The issuer and certificates of a TLSConfig. */
export function validateTlsConfig(tls: TLSConfig | undefined, path: string, aliases: readonly string[]): FieldError[] {
  if (!tls) return [];
  return [...validateIssuerRef(tls.issuerRef, `${path}.issuerRef`), ...validateCertificates(tls.certificates, `${path}.certificates`, aliases)];
}
