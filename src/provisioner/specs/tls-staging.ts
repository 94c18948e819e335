// The staged TLS secret `<db>-tls-certs`: what the servers actually read.
// cert-manager's secrets are inputs; their contents reach a pod only after
// they pass checks (the key belongs to the certificate, the chain verifies
// against the CA, the server certificate covers the service name). The
// ops-manager also stages transitional states: trust bundles holding the old
// and the new CA, or the last working material when it rolls back.
import { keyMatchesCert, verifyChain, coversHost, mergeCaBundles } from '../../certs/index.ts';
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels } from '../../kinds/info.ts';
import { ownerReference, type DbRef } from './owner.ts';
import { base64Values } from './secrets.ts';

export function stagedTlsSecretName(db: string): string {
  return `${db}-tls-certs`;
}

/** The keys of the staged secret. Trust bundles may hold several CAs. */
export interface StagedTls {
  'server.crt': string;
  'server.key': string;
  /** Trusted for client certificates (and, for Pgpool, the backend). */
  'ca.crt': string;
  'client.crt'?: string;
  'client.key'?: string;
  /** Trusted when this server connects out as a client (standby → primary). */
  'client-ca.crt'?: string;
  'exporter.crt'?: string;
  'exporter.key'?: string;
  /** Poolers: trusted for the backend PostgreSQL. */
  'backend-ca.crt'?: string;
}

/** The staged secret's data as read back; null when it holds no server certificate (TLS off). */
export function asStagedTls(data: Record<string, string> | undefined): StagedTls | null {
  const crt = data?.['server.crt'];
  const key = data?.['server.key'];
  if (!data || !crt || !key) return null;
  return { ...data, 'server.crt': crt, 'server.key': key, 'ca.crt': data['ca.crt'] ?? '' };
}

export interface TlsSecretData {
  'tls.crt'?: string;
  'tls.key'?: string;
  'ca.crt'?: string;
}

export class TlsMaterialError extends Error {}

/** Checks one cert-manager secret; throws TlsMaterialError saying what is wrong. */
export function checkMaterial(name: string, s: TlsSecretData | undefined, host?: string): Required<TlsSecretData> {
  if (!s?.['tls.crt'] || !s['tls.key'] || !s['ca.crt']) throw new TlsMaterialError(`secret ${name} lacks tls.crt, tls.key or ca.crt`);
  if (!keyMatchesCert(s['tls.crt'], s['tls.key'])) throw new TlsMaterialError(`secret ${name}: tls.key does not belong to tls.crt`);
  const chain = verifyChain(s['tls.crt'], s['ca.crt']);
  if (!chain.ok) throw new TlsMaterialError(`secret ${name}: tls.crt does not verify against its ca.crt: ${chain.reason}`);
  if (host && !coversHost(s['tls.crt'], host)) throw new TlsMaterialError(`secret ${name}: tls.crt does not cover ${host}`);
  return s as Required<TlsSecretData>;
}

export interface StageInput {
  server: { name: string; data: TlsSecretData | undefined; host: string };
  client?: { name: string; data: TlsSecretData | undefined };
  exporter?: { name: string; data: TlsSecretData | undefined };
  /** Extra CAs every trust bundle keeps (a CA transition in progress). */
  extraCas?: string[];
  backendCa?: string;
}

export function stageFromSecrets(i: StageInput): StagedTls {
  const server = checkMaterial(i.server.name, i.server.data, i.server.host);
  const extra = i.extraCas ?? [];
  const staged: StagedTls = {
    'server.crt': server['tls.crt'],
    'server.key': server['tls.key'],
    'ca.crt': mergeCaBundles(server['ca.crt'], ...extra),
  };
  if (i.client) {
    const client = checkMaterial(i.client.name, i.client.data);
    staged['client.crt'] = client['tls.crt'];
    staged['client.key'] = client['tls.key'];
    staged['client-ca.crt'] = mergeCaBundles(client['ca.crt'], ...extra);
  }
  if (i.exporter?.data?.['tls.crt']) {
    const exporter = checkMaterial(i.exporter.name, i.exporter.data);
    staged['exporter.crt'] = exporter['tls.crt'];
    staged['exporter.key'] = exporter['tls.key'];
  }
  if (i.backendCa) staged['backend-ca.crt'] = mergeCaBundles(i.backendCa, ...extra);
  return staged;
}

export function buildStagedTlsSecret(info: KindInfo, db: DbRef, staged: StagedTls | undefined) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: stagedTlsSecretName(db.name),
      namespace: db.namespace,
      labels: offshootLabels(info, db.name),
      ownerReferences: [ownerReference(info, db)],
    },
    // Empty when TLS is off: the optional volumes then hold no files. `data`,
    // not stringData, so server-side apply removes keys we stop sending.
    data: base64Values({ ...(staged ?? {}) }),
  };
}

/**
 * A pod volume showing some keys of the staged secret under the file names a
 * server expects. Optional, so the pod template is the same with TLS on or off.
 */
export function stagedTlsVolume(db: string, name: string, items: [key: string, path: string][]) {
  return {
    name,
    secret: { secretName: stagedTlsSecretName(db), optional: true, defaultMode: 0o600, items: items.map(([key, path]) => ({ key, path })) },
  };
}
