// The admission webhook's serving certificate, issued by cert-manager:
// SelfSigned Issuer → CA Certificate → CA Issuer → serving Certificate. All
// objects are applied server-side, so every replica (and every restart) can
// run this; they converge on the same Secret.
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { conditionTrue } from '../kube/client.ts';
import type { KubeClient, KubeObject } from '../kube/api.ts';
import { mergeCaBundles } from '../certs/bundle.ts';

export interface WebhookCertOptions {
  namespace: string;
  /** Prefix of the object names; default `pgtls-webhook`. */
  name?: string;
  /** SANs of the serving certificate: a loopback IP for a URL endpoint, Service DNS names in-cluster. */
  ipAddresses?: string[];
  dnsNames?: string[];
  timeoutMs?: number;
}

export interface ServingSecret {
  /** `<serving Secret resourceVersion>/<CA Secret resourceVersion>`. */
  resourceVersion: string;
  /** PEM. */
  cert: string;
  key: string;
  /** Base64 PEM bundle for a webhook's caBundle: the CA in the serving Secret plus the current CA. */
  caBundle: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const names = (o: Pick<WebhookCertOptions, 'name'>) => {
  const p = o.name ?? 'pgtls-webhook';
  return { selfSigned: `${p}-selfsigned`, ca: `${p}-ca`, serving: `${p}-serving` };
};

export function servingSecretName(opts: Pick<WebhookCertOptions, 'name'>): string {
  return names(opts).serving;
}

export function webhookCertObjects(opts: WebhookCertOptions): KubeObject[] {
  const n = names(opts);
  const cm = (kind: string, name: string, spec: object): KubeObject => ({
    apiVersion: 'cert-manager.io/v1',
    kind,
    metadata: { name, namespace: opts.namespace, labels: { 'app.kubernetes.io/managed-by': 'pgtls', 'app.kubernetes.io/component': 'webhook' } },
    spec,
  });
  return [
    cm('Issuer', n.selfSigned, { selfSigned: {} }),
    cm('Certificate', n.ca, {
      isCA: true,
      commonName: 'pgtls-webhook-ca',
      secretName: n.ca,
      privateKey: { algorithm: 'ECDSA', size: 256 },
      issuerRef: { name: n.selfSigned, kind: 'Issuer', group: 'cert-manager.io' },
    }),
    cm('Issuer', n.ca, { ca: { secretName: n.ca } }),
    cm('Certificate', n.serving, {
      secretName: n.serving,
      commonName: 'pgtls-webhook',
      ...(opts.ipAddresses?.length ? { ipAddresses: opts.ipAddresses } : {}),
      ...(opts.dnsNames?.length ? { dnsNames: opts.dnsNames } : {}),
      privateKey: { algorithm: 'ECDSA', size: 256 },
      usages: ['digital signature', 'key encipherment', 'server auth'],
      issuerRef: { name: n.ca, kind: 'Issuer', group: 'cert-manager.io' },
    }),
  ];
}

async function waitCertificateReady(kube: KubeClient, namespace: string, name: string, deadline: number): Promise<void> {
  for (;;) {
    const got = await kube.get<KubeObject>('cert-manager.io/v1', 'Certificate', name, namespace);
    if (conditionTrue(got, 'Ready')) return;
    if (Date.now() > deadline) throw new Error(`Certificate ${namespace}/${name} was not Ready in time (is cert-manager running?)`);
    await sleep(250);
  }
}

/**
 * Applies the cert-manager objects and waits until the serving Secret exists.
 * The namespace is the installer's: the operator may not create namespaces.
 */
export async function ensureWebhookCertificate(kube: KubeClient, opts: WebhookCertOptions): Promise<ServingSecret> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (const o of webhookCertObjects(opts)) await kube.apply(o);
  const n = names(opts);
  await waitCertificateReady(kube, opts.namespace, n.ca, deadline);
  await waitCertificateReady(kube, opts.namespace, n.serving, deadline);
  for (;;) {
    const s = await readServingSecret(kube, opts);
    if (s) return s;
    if (Date.now() > deadline) throw new Error(`Secret ${opts.namespace}/${n.serving} has no tls.crt/tls.key`);
    await sleep(250);
  }
}

const decode = (b64: string | undefined) => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : '');

/** The serving Secret, or undefined while it is missing or incomplete. */
export async function readServingSecret(kube: KubeClient, opts: Pick<WebhookCertOptions, 'namespace' | 'name'>): Promise<ServingSecret | undefined> {
  const n = names(opts);
  const s = await kube.get<KubeObject>('v1', 'Secret', n.serving, opts.namespace);
  if (!s) return undefined;
  const cert = decode(s.data?.['tls.crt']);
  const key = decode(s.data?.['tls.key']);
  const servingCa = decode(s.data?.['ca.crt']);
  if (!cert || !key || !servingCa) return undefined;
  // The current CA too, so a CA renewal is trusted before the serving certificate is re-issued.
  const ca = await kube.get<KubeObject>('v1', 'Secret', n.ca, opts.namespace);
  const currentCa = decode(ca?.data?.['tls.crt']);
  const caVersion = ca?.metadata?.resourceVersion ?? '';
  // Both Secrets' versions: a CA renewal alone changes the bundle too.
  return { resourceVersion: `${s.metadata?.resourceVersion ?? ''}/${caVersion}`, cert, key, caBundle: Buffer.from(mergeCaBundles(servingCa, currentCa)).toString('base64') };
}

/** Writes tls.key then tls.crt (each atomically; the key 0600); returns their paths. */
export function writeServingFiles(dir: string, s: Pick<ServingSecret, 'cert' | 'key'>): { certFile: string; keyFile: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  const put = (file: string, text: string, mode: number) => {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, file);
  };
  put(keyFile, s.key, 0o600);
  put(certFile, s.cert, 0o644);
  return { certFile, keyFile };
}
