// Questions asked about certificates before and after a TLS change:
// which cert is this, does the key fit, does the chain verify, does it cover the host, when does it expire.
import { isIP } from 'node:net';
import type { X509Certificate } from 'node:crypto';
import { parseCertificate, parseCertificates, parsePrivateKey } from './pem.ts';

export interface CertSummary {
  /** SHA-256 of the DER, "AB:CD:..." as node prints it. */
  fingerprint256: string;
  /** Upper-case hex, even length, as node prints it (e.g. 0B02). */
  serial: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  isCa: boolean;
}

function sans(cert: X509Certificate): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) dnsNames.push(part.slice(4));
    else if (part.startsWith('IP Address:')) ipAddresses.push(part.slice(11));
  }
  return { dnsNames, ipAddresses };
}

export function summarize(cert: X509Certificate | string): CertSummary {
  const c = typeof cert === 'string' ? parseCertificate(cert) : cert;
  return {
    fingerprint256: c.fingerprint256,
    serial: c.serialNumber.toUpperCase(),
    subject: c.subject,
    issuer: c.issuer,
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    ...sans(c),
    isCa: c.ca,
  };
}

export function fingerprint256(certPem: string): string {
  return parseCertificate(certPem).fingerprint256;
}

/** True when the private key belongs to the (first) certificate. */
export function keyMatchesCert(certPem: string, keyPem: string): boolean {
  return parseCertificate(certPem).checkPrivateKey(parsePrivateKey(keyPem));
}

/** True when the certificate is valid for host: an IP SAN for addresses, a DNS SAN (wildcards allowed) for names. */
export function coversHost(certPem: string, host: string): boolean {
  const c = parseCertificate(certPem);
  if (isIP(host)) return c.checkIP(host) !== undefined;
  // subject: 'never' = like libpq and browsers, the CN is ignored when SANs exist; we demand SANs.
  return c.checkHost(host, { subject: 'never' }) !== undefined;
}

export function expiresWithin(certPem: string, ms: number, now = new Date()): boolean {
  return new Date(parseCertificate(certPem).validTo).getTime() - now.getTime() <= ms;
}

export type ChainResult = { ok: true; path: CertSummary[] } | { ok: false; reason: string };

function validAt(c: X509Certificate, at: Date): boolean {
  return new Date(c.validFrom) <= at && at <= new Date(c.validTo);
}

/**
 * Does the leaf (first cert of certPem, further certs are intermediates) chain to one of the CAs in caPem?
 * Checks signatures, issuer names, CA flags and validity at `at`. No revocation, no name constraints.
 */
export function verifyChain(certPem: string, caPem: string, at = new Date()): ChainResult {
  const [leaf, ...intermediates] = parseCertificates(certPem);
  if (!leaf) return { ok: false, reason: 'no certificate' };
  const roots = parseCertificates(caPem);
  if (roots.length === 0) return { ok: false, reason: 'no CA certificate' };
  const path: X509Certificate[] = [leaf];
  let cur = leaf;
  // Bounded: a chain longer than 8 is not something we issue.
  for (let depth = 0; depth < 8; depth++) {
    if (!validAt(cur, at)) return { ok: false, reason: `certificate "${cur.subject}" is not valid at ${at.toISOString()}` };
    const root = roots.find((r) => cur.checkIssued(r) && cur.verify(r.publicKey));
    if (root) {
      if (!validAt(root, at)) return { ok: false, reason: `CA "${root.subject}" is not valid at ${at.toISOString()}` };
      if (root.fingerprint256 !== cur.fingerprint256) path.push(root);
      return { ok: true, path: path.map((c) => summarize(c)) };
    }
    const next = intermediates.find((i) => i.ca && cur.checkIssued(i) && cur.verify(i.publicKey) && !path.includes(i));
    if (!next) return { ok: false, reason: `no trusted issuer for "${cur.subject}" (issuer "${cur.issuer}")` };
    path.push(next);
    cur = next;
  }
  return { ok: false, reason: 'chain too long' };
}
