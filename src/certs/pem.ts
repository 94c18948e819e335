// PEM parsing with node:crypto only: no Kubernetes, no files.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

export interface PemBlock {
  label: string;
  text: string;
}

/** Every PEM block in the text, in order, each ending with a newline. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) out.push({ label: m[1]!, text: m[0].replace(/\r\n/g, '\n') + '\n' });
  return out;
}

/** All certificates in a PEM text (a leaf, a chain or a CA bundle). */
export function parseCertificates(pem: string): X509Certificate[] {
  return pemBlocks(pem)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => new X509Certificate(b.text));
}

/** The first certificate in a PEM text: the leaf of a chain. */
export function parseCertificate(pem: string): X509Certificate {
  const [first] = parseCertificates(pem);
  if (!first) throw new Error('no CERTIFICATE block in PEM text');
  return first;
}

/** A private key from PEM (PKCS#1, PKCS#8 or SEC1). Never logs the key. */
export function parsePrivateKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    // The message of a parse error never contains the key material, but keep it short anyway.
    throw new Error(`not a usable private key: ${(err as Error).message.split('\n')[0]}`);
  }
}
