// The auth secret (`<db>-auth`, created once and never rewritten) and the
// config secret that carries rendered files into the pods.
import { randomInt } from 'node:crypto';
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels } from '../../kinds/info.ts';
import { ownerReference, type DbRef } from './owner.ts';

/** Letters and digits without look-alikes (I, O, l, o, 0, 1): safe in URLs, conninfo and config files. */
export const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
/** The generated password's strength in bits; 24 symbols of 57 give 140. */
export const PASSWORD_MIN_BITS = 128;
const PASSWORD_LENGTH = Math.ceil(PASSWORD_MIN_BITS / Math.log2(PASSWORD_ALPHABET.length)) + 1;

/** Bits of a password of `len` symbols drawn uniformly from `alphabet`. */
export function passwordBits(len: number, alphabet = PASSWORD_ALPHABET): number {
  return len * Math.log2(alphabet.length);
}

/**
 * A password of uniformly drawn symbols: crypto.randomInt rejects the values
 * that a modulo would fold unevenly, so every symbol is equally likely.
 */
export function randomPassword(len = PASSWORD_LENGTH): string {
  if (passwordBits(len) < PASSWORD_MIN_BITS) throw new Error(`a password of ${len} symbols has ${passwordBits(len).toFixed(0)} bits, fewer than ${PASSWORD_MIN_BITS}`);
  let out = '';
  for (let i = 0; i < len; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

export function buildAuthSecret(info: KindInfo, db: DbRef, name: string, username: string) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/basic-auth',
    // Not owned by the database: Delete keeps credentials, only WipeOut removes them.
    metadata: { name, namespace: db.namespace, labels: offshootLabels(info, db.name) },
    stringData: { username, password: randomPassword() },
  };
}

export function configSecretName(db: string): string {
  return `${db}-config`;
}

export function buildConfigSecret(info: KindInfo, db: DbRef, files: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: configSecretName(db.name),
      namespace: db.namespace,
      labels: offshootLabels(info, db.name),
      ownerReferences: [ownerReference(info, db)],
    },
    data: base64Values(files),
  };
}

export function base64Values(m: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) if (v !== undefined) out[k] = Buffer.from(v, 'utf8').toString('base64');
  return out;
}
