// What certificates a tenant may get through pgtls: names of its own
// database only (its Services, its pods, localhost) unless the administrator
// allows more (operator flag --allow-certificate-names), ClusterIssuers from an
// allow-list when one is set (--allowed-cluster-issuers), and no subject value
// that could pass for another database's marker. Pure, except for the one
// policy the operator process is configured with at start.
import { isIP } from 'node:net';
import type { TLSConfig } from '../api/shared/tls.ts';

export interface CertificatePolicy {
  /**
   * Names beyond a database's own that certificates may carry: DNS names or
   * wildcards (`*.example.com`: `*` is one label), IPs or CIDRs
   * (`10.0.0.0/8`), `uri:<glob>`, `email:<glob>` (`*` matches anything).
   */
  allowedNames: string[];
  /** When set, the only ClusterIssuers a database may use. */
  allowedClusterIssuers?: string[];
}

export const OPEN_POLICY: CertificatePolicy = { allowedNames: [] };

let configured: CertificatePolicy = OPEN_POLICY;

/** Set once at operator start from its flags; checks every pattern. */
export function configureCertificatePolicy(p: CertificatePolicy): void {
  for (const n of p.allowedNames) parsePattern(n);
  configured = { allowedNames: [...p.allowedNames], ...(p.allowedClusterIssuers ? { allowedClusterIssuers: [...p.allowedClusterIssuers] } : {}) };
}

export function certificatePolicy(): CertificatePolicy {
  return configured;
}

/** Subject values starting with this are the operator's own (the database marker). */
export const MARKER_PREFIX = 'pgtls:';

/**
 * The organizational unit the operator puts in every client-side certificate
 * of a database. PostgreSQL maps the certificate's full subject (not only its
 * CN) and requires it, so a certificate minted for another database — even by
 * the same CA, with the same CN — cannot log in.
 */
export function databaseMarker(namespace: string, name: string): string {
  return `${MARKER_PREFIX}${namespace}/${name}`;
}

type SanKind = 'dns' | 'ip' | 'uri' | 'email';
type Pattern = { kind: 'dns'; re: RegExp } | { kind: 'ip'; net: { bytes: number[]; bits: number } } | { kind: 'uri' | 'email'; re: RegExp };

const globRe = (g: string, star: string) => new RegExp(`^${g.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join(star)}$`, 'i');

function ipBytes(ip: string): number[] | undefined {
  const v = isIP(ip);
  if (v === 4) return ip.split('.').map(Number);
  if (v !== 6) return undefined;
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g || '0', 16);
    return [n >> 8, n & 0xff];
  });
}

function parsePattern(p: string): Pattern {
  if (p.startsWith('uri:')) return { kind: 'uri', re: globRe(p.slice(4), '.*') };
  if (p.startsWith('email:')) return { kind: 'email', re: globRe(p.slice(6), '.*') };
  const [addr, bits] = p.split('/');
  const bytes = ipBytes(addr!);
  if (bytes) {
    const max = bytes.length * 8;
    const b = bits === undefined ? max : Number(bits);
    if (!Number.isInteger(b) || b < 0 || b > max) throw new Error(`allowed certificate name ${JSON.stringify(p)}: prefix length must be 0..${max}`);
    return { kind: 'ip', net: { bytes, bits: b } };
  }
  if (!/^(\*|[a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.(\*|[a-z0-9]([a-z0-9-]*[a-z0-9])?))*$/i.test(p)) {
    throw new Error(`allowed certificate name ${JSON.stringify(p)}: expected a DNS name or wildcard (*.example.com), an IP or CIDR, uri:<glob> or email:<glob>`);
  }
  return { kind: 'dns', re: globRe(p, '[^.]+') };
}

function inNet(ip: string, net: { bytes: number[]; bits: number }): boolean {
  const b = ipBytes(ip);
  if (!b || b.length !== net.bytes.length) return false;
  for (let i = 0; i < net.bits; i++) {
    const m = 0x80 >> i % 8;
    if ((b[Math.floor(i / 8)]! & m) !== (net.bytes[Math.floor(i / 8)]! & m)) return false;
  }
  return true;
}

/** A DNS name against a name the certificate would cover anyway (`*.x` covers one label). */
function coveredBy(name: string, own: string): boolean {
  if (own.toLowerCase() === name.toLowerCase()) return true;
  return own.startsWith('*.') && globRe(own, '[^.]+').test(name);
}

export function nameAllowed(kind: SanKind, value: string, own: string[], policy: CertificatePolicy): boolean {
  if ((kind === 'dns' || kind === 'ip') && own.some((o) => coveredBy(value, o))) return true;
  return policy.allowedNames.map(parsePattern).some((p) => {
    if (p.kind !== kind) return false;
    if (p.kind === 'ip') return inNet(value, p.net);
    return p.re.test(value);
  });
}

export interface PolicyProblem {
  /** Relative to the TLS block, e.g. `certificates[1].dnsNames[0]`. */
  field: string;
  value: string;
  detail: string;
}

const SANS: [keyof Pick<NonNullable<TLSConfig['certificates']>[number], 'dnsNames' | 'ipAddresses' | 'uris' | 'emailAddresses'>, SanKind][] = [
  ['dnsNames', 'dns'],
  ['ipAddresses', 'ip'],
  ['uris', 'uri'],
  ['emailAddresses', 'email'],
];

const SUBJECT_LISTS = ['organizations', 'organizationalUnits', 'countries', 'localities', 'provinces', 'streetAddresses', 'postalCodes'] as const;

function issuerProblem(ref: { kind?: string; name?: string } | undefined, field: string, policy: CertificatePolicy): PolicyProblem[] {
  const allow = policy.allowedClusterIssuers;
  if (!ref || ref.kind !== 'ClusterIssuer' || !allow || allow.includes(ref.name ?? '')) return [];
  const which = allow.length ? `allowed ClusterIssuers: ${allow.map((a) => `"${a}"`).join(', ')}` : 'no ClusterIssuer is allowed';
  return [{ field, value: ref.name ?? '', detail: `the operator does not allow this ClusterIssuer (${which}); use an Issuer in the namespace or ask the administrator` }];
}

/**
 * What in a TLS request the policy refuses. `own` is every name the
 * database's certificates cover anyway (its Services, pod wildcards,
 * localhost, 127.0.0.1); a name listed there is always fine.
 */
export function tlsRequestProblems(tls: TLSConfig | undefined, own: string[], policy: CertificatePolicy): PolicyProblem[] {
  if (!tls) return [];
  const out: PolicyProblem[] = [...issuerProblem(tls.issuerRef, 'issuerRef.name', policy)];
  (tls.certificates ?? []).forEach((c, i) => {
    const at = `certificates[${i}]`;
    out.push(...issuerProblem(c.issuerRef, `${at}.issuerRef.name`, policy));
    for (const [key, kind] of SANS) {
      (c[key] ?? []).forEach((v, j) => {
        if (nameAllowed(kind, v, own, policy)) return;
        out.push({
          field: `${at}.${key}[${j}]`,
          value: v,
          detail: "is not one of the database's own names (its Services, its pods, localhost) and the operator's --allow-certificate-names does not allow it",
        });
      });
    }
    for (const key of SUBJECT_LISTS) {
      (c.subject?.[key] ?? []).forEach((v, j) => {
        if (v.includes(MARKER_PREFIX) || v.includes('\\')) out.push({ field: `${at}.subject.${key}[${j}]`, value: v, detail: `may not contain "${MARKER_PREFIX}" or a backslash: the operator marks its certificates with "${MARKER_PREFIX}<namespace>/<name>"` });
      });
    }
    const sn = c.subject?.serialNumber;
    if (sn && (sn.includes(MARKER_PREFIX) || sn.includes('\\'))) out.push({ field: `${at}.subject.serialNumber`, value: sn, detail: `may not contain "${MARKER_PREFIX}" or a backslash` });
  });
  return out;
}

export function formatProblems(path: string, problems: PolicyProblem[]): string {
  return problems.map((p) => `${path}.${p.field}: ${JSON.stringify(p.value)} ${p.detail}`).join('; ');
}

/** Thrown where certificates are built, so no Certificate the policy refuses is ever applied. */
export class CertificatePolicyError extends Error {
  constructor(
    readonly path: string,
    readonly problems: PolicyProblem[],
  ) {
    super(`certificate request refused: ${formatProblems(path, problems)}`);
    this.name = 'CertificatePolicyError';
  }
}
