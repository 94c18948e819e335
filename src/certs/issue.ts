// Issues CAs and leaf certificates in memory (PEM strings). Used by tests, benchmarks and
// the local mode; in a cluster cert-manager issues the certificates instead.
import { webcrypto, randomBytes } from 'node:crypto';
// @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// Node's webcrypto is the Web Crypto API, but @types/node types it apart from lib.dom's Crypto.
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type KeyAlgorithm = 'rsa' | 'ecdsa';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface IssuedCa extends KeyPairPem {
  /** Kept for signing; not exported anywhere else. */
  readonly signingKey: CryptoKey;
  readonly algorithm: KeyAlgorithm;
  readonly cert: x509.X509Certificate;
}

export interface CaOptions {
  commonName: string;
  organizations?: string[];
  algorithm?: KeyAlgorithm;
  serial?: string;
  days?: number;
}

export interface LeafOptions {
  commonName: string;
  organizations?: string[];
  organizationalUnits?: string[];
  usage: 'server' | 'client';
  dnsNames?: string[];
  ipAddresses?: string[];
  algorithm?: KeyAlgorithm;
  /** Hex serial; random when unset. */
  serial?: string;
  notBefore?: Date;
  notAfter?: Date;
}

const DAY = 24 * 3600 * 1000;

function alg(a: KeyAlgorithm): RsaHashedKeyGenParams | EcKeyGenParams {
  return a === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
    : ({ name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as EcKeyGenParams);
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function randomSerial(): string {
  const b = randomBytes(12);
  b[0] = (b[0]! & 0x7f) | 0x10; // positive, no leading zero byte
  return b.toString('hex');
}

function dn(commonName: string, organizations: string[] = [], units: string[] = []): string {
  const esc = (v: string) => v.replace(/([,+="\\<>;])/g, '\\$1');
  return [`CN=${esc(commonName)}`, ...organizations.map((o) => `O=${esc(o)}`), ...units.map((u) => `OU=${esc(u)}`)].join(', ');
}

async function keys(a: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(alg(a), true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function issueCa(o: CaOptions): Promise<IssuedCa> {
  const algorithm = o.algorithm ?? 'ecdsa';
  const kp = await keys(algorithm);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: o.serial ?? randomSerial(),
    name: dn(o.commonName, o.organizations),
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + (o.days ?? 3650) * DAY),
    signingAlgorithm: alg(algorithm),
    keys: kp,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(kp.publicKey),
    ],
  });
  return {
    certPem: cert.toString('pem') + '\n',
    keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', kp.privateKey)),
    signingKey: kp.privateKey,
    algorithm,
    cert,
  };
}

export async function issueLeaf(ca: IssuedCa, o: LeafOptions): Promise<KeyPairPem> {
  const kp = await keys(o.algorithm ?? 'ecdsa');
  const now = Date.now();
  const sans: x509.JsonGeneralName[] = [
    ...(o.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(o.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([o.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: o.serial ?? randomSerial(),
    subject: dn(o.commonName, o.organizations, o.organizationalUnits),
    issuer: ca.cert.subject,
    notBefore: o.notBefore ?? new Date(now - 3600_000),
    notAfter: o.notAfter ?? new Date(now + 90 * DAY),
    signingAlgorithm: alg(ca.algorithm),
    publicKey: kp.publicKey,
    signingKey: ca.signingKey,
    extensions,
  });
  return {
    certPem: cert.toString('pem') + '\n',
    keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', kp.privateKey)),
  };
}
