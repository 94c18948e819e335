// The local cluster's PKI: one CA, serving certificates for etcd and
// kube-apiserver, client certificates for every component, and the service
// account signing key. Files are created only when missing, so a second `up`
// keeps the identity of the cluster (and the kubeconfigs users already have).
import { webcrypto, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
// @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

export interface ClientIdentity {
  /** File stem under pki/: <name>.crt, <name>.key */
  name: string;
  commonName: string;
  organizations?: string[];
}

export interface ServingIdentity {
  name: string;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  /** etcd's serving certificate is also its peer and client certificate. */
  clientAuth?: boolean;
}

export interface PkiFiles {
  caCert: string;
  caKey: string;
  saKey: string;
  saPub: string;
  cert(name: string): string;
  key(name: string): string;
}

export function pkiFiles(dir: string): PkiFiles {
  return {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    cert: (name) => join(dir, `${name}.crt`),
    key: (name) => join(dir, `${name}.key`),
  };
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function derOf(pemText: string): Buffer {
  return Buffer.from(pemText.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** Writes atomically; private keys are 0600. */
function writeFileAtomic(path: string, content: string, mode: number): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString('hex');
}

function dn(commonName: string, organizations: string[] = []): string {
  const esc = (v: string) => v.replace(/([,+="\\<>;])/g, '\\$1');
  return [`CN=${esc(commonName)}`, ...organizations.map((o) => `O=${esc(o)}`)].join(', ');
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privatePem(keys: CryptoKeyPair): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
}

interface Ca {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

async function ensureCa(files: PkiFiles, commonName: string): Promise<Ca> {
  if (!existsSync(files.caCert) || !existsSync(files.caKey)) {
    const keys = await newKeys();
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: dn(commonName),
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 10 * YEAR_MS),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    writeFileAtomic(files.caKey, await privatePem(keys), 0o600);
    writeFileAtomic(files.caCert, cert.toString('pem') + '\n', 0o644);
  }
  const cert = new x509.X509Certificate(readFileSync(files.caCert, 'utf8'));
  const key = await webcrypto.subtle.importKey('pkcs8', derOf(readFileSync(files.caKey, 'utf8')), ALG, false, ['sign']);
  return { cert, key: key as CryptoKey };
}

/** True when the certificate names every wanted SAN (a home made before a SAN was added gets a new certificate). */
export function coversSans(certPem: string, sans: x509.JsonGeneralName[]): boolean {
  const ext = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  const have = new Set((ext?.names.toJSON() ?? []).map((n) => `${n.type}:${n.value}`));
  return sans.every((n) => have.has(`${n.type}:${n.value}`));
}

async function issue(
  ca: Ca,
  files: PkiFiles,
  name: string,
  subject: string,
  usages: x509.ExtendedKeyUsage[],
  sans: x509.JsonGeneralName[],
): Promise<void> {
  if (existsSync(files.cert(name)) && existsSync(files.key(name)) && coversSans(readFileSync(files.cert(name), 'utf8'), sans)) return;
  const keys = await newKeys();
  const now = Date.now();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(usages),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 5 * YEAR_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions,
  });
  writeFileAtomic(files.key(name), await privatePem(keys), 0o600);
  writeFileAtomic(files.cert(name), cert.toString('pem') + '\n', 0o644);
}

export async function ensurePki(
  dir: string,
  serving: ServingIdentity[],
  clients: ClientIdentity[],
): Promise<PkiFiles> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = pkiFiles(dir);
  const ca = await ensureCa(files, 'pgtls-local-ca');
  for (const s of serving) {
    const usages = [x509.ExtendedKeyUsage.serverAuth];
    if (s.clientAuth) usages.push(x509.ExtendedKeyUsage.clientAuth);
    const sans: x509.JsonGeneralName[] = [
      ...s.dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...s.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ];
    await issue(ca, files, s.name, dn(s.commonName), usages, sans);
  }
  for (const c of clients) {
    await issue(ca, files, c.name, dn(c.commonName, c.organizations), [x509.ExtendedKeyUsage.clientAuth], []);
  }
  if (!existsSync(files.saKey) || !existsSync(files.saPub)) {
    const keys = await newKeys();
    writeFileAtomic(files.saKey, await privatePem(keys), 0o600);
    writeFileAtomic(files.saPub, pem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', keys.publicKey)), 0o644);
  }
  return files;
}
