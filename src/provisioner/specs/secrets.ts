// The auth secret (`<db>-auth`, created once and never rewritten) and the
// config secret that carries rendered files into the pods.
import { randomBytes } from 'node:crypto';
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels } from '../../kinds/info.ts';
import { ownerReference, type DbRef } from './owner.ts';

export function randomPassword(len = 16): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(len);
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
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
