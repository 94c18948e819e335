// Builds the Mutating/ValidatingWebhookConfiguration for the admission server.
// On a real cluster the API server reaches it through a Service; on the local
// cluster (no Service routing) through a loopback URL.
import type { k8s } from '../kube/client.ts';
import type { KubeClient, KubeObject } from '../kube/api.ts';
import { DATABASE_KINDS, OPS_KINDS, type KindInfo } from '../api/kinds.ts';

export type WebhookEndpoint = { url: string } | { service: { namespace: string; name: string; port?: number } };

export interface RegistrationOptions {
  endpoint: WebhookEndpoint;
  /** Base64 PEM of the CA that signed the serving certificate (the Secret's ca.crt, as stored). */
  caBundle: string;
  /** Prefix of the configuration objects' names. */
  name?: string;
  timeoutSeconds?: number;
}

function clientConfig(opts: RegistrationOptions, path: string): k8s.AdmissionregistrationV1WebhookClientConfig {
  if ('url' in opts.endpoint) return { url: `${opts.endpoint.url.replace(/\/$/, '')}${path}`, caBundle: opts.caBundle };
  const { namespace, name, port } = opts.endpoint.service;
  return { service: { namespace, name, port: port ?? 443, path }, caBundle: opts.caBundle };
}

function rule(k: KindInfo, operations: string[]): k8s.V1RuleWithOperations {
  return { apiGroups: [k.group], apiVersions: [k.version], resources: [k.plural], operations, scope: 'Namespaced' };
}

const common = (opts: RegistrationOptions) => ({
  admissionReviewVersions: ['v1'],
  failurePolicy: 'Fail',
  matchPolicy: 'Equivalent',
  timeoutSeconds: opts.timeoutSeconds ?? 10,
});

export function buildMutatingWebhookConfiguration(opts: RegistrationOptions): k8s.V1MutatingWebhookConfiguration {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: `${opts.name ?? 'pgtls'}-mutators` },
    webhooks: [...DATABASE_KINDS, ...OPS_KINDS].map((k) => ({
      name: `${k.plural}.mutators.${k.group}`,
      clientConfig: clientConfig(opts, `/mutate/${k.plural}`),
      rules: [rule(k, ['CREATE', 'UPDATE'])],
      sideEffects: 'None',
      reinvocationPolicy: 'Never',
      ...common(opts),
    })),
  };
}

export function buildValidatingWebhookConfiguration(opts: RegistrationOptions): k8s.V1ValidatingWebhookConfiguration {
  const dbs = DATABASE_KINDS.map((k) => ({
    name: `${k.plural}.validators.${k.group}`,
    clientConfig: clientConfig(opts, `/validate/${k.plural}`),
    rules: [rule(k, ['CREATE', 'UPDATE', 'DELETE'])],
    sideEffects: 'None',
    ...common(opts),
  }));
  // Not through /status: a write there cannot change the spec (the API server
  // keeps only its status), so the webhook could only allow it, and the
  // ops-manager writes a request's status ~20 times (at 100 requests at once,
  // 2 000 calls of ~70 ms in the operator's own path). Admission has no side
  // effects: the ops-manager resumes a database when its request ends.
  const ops = OPS_KINDS.map((k) => ({
    name: `${k.plural}.validators.${k.group}`,
    clientConfig: clientConfig(opts, `/validate/${k.plural}`),
    rules: [rule(k, ['CREATE', 'UPDATE'])],
    sideEffects: 'None',
    ...common(opts),
  }));
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: `${opts.name ?? 'pgtls'}-validators` },
    webhooks: [...dbs, ...ops],
  };
}

/** ca.crt of a cert-manager-issued Secret, still base64 as caBundle wants it. */
export async function caBundleFromSecret(kube: KubeClient, namespace: string, name: string): Promise<string> {
  const s = await kube.get<KubeObject>('v1', 'Secret', name, namespace);
  if (!s) throw new Error(`secret ${namespace}/${name} not found`);
  const ca = s.data?.['ca.crt'];
  if (!ca) throw new Error(`secret ${namespace}/${name} has no ca.crt`);
  return ca;
}

export async function registerWebhooks(kube: KubeClient, opts: RegistrationOptions): Promise<void> {
  await kube.apply(buildMutatingWebhookConfiguration(opts));
  await kube.apply(buildValidatingWebhookConfiguration(opts));
}
