// The API server's identity toward admission webhooks. Its
// AdmissionConfiguration names a kubeconfig whose user `*` (any webhook host)
// presents a client certificate from the cluster CA, and the operator's
// webhook answers only that certificate (pgtls operator --webhook-client-ca),
// so nothing else that reaches the webhook's port can send it reviews.
import { join } from 'node:path';
import { stringify } from 'yaml';

export const WEBHOOK_CLIENT = { name: 'apiserver-webhook-client', commonName: 'kube-apiserver-webhook-client' } as const;

export const admissionConfigPath = (layout: { home: string }) => join(layout.home, 'admission-config.yaml');
export const webhookKubeconfigPath = (layout: { home: string }) => join(layout.home, 'admission-webhook.kubeconfig');

/** --admission-control-config-file: both webhook plugins read the same kubeconfig. */
export function admissionConfig(kubeconfigFile: string): string {
  const configuration = { apiVersion: 'apiserver.config.k8s.io/v1', kind: 'WebhookAdmissionConfiguration', kubeConfigFile: kubeconfigFile };
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins: ['ValidatingAdmissionWebhook', 'MutatingAdmissionWebhook'].map((name) => ({ name, configuration })),
  });
}

/** The kubeconfig the API server uses for webhook calls: user `*` matches every webhook host. */
export function webhookKubeconfig(certFile: string, keyFile: string): string {
  return stringify({ apiVersion: 'v1', kind: 'Config', users: [{ name: '*', user: { 'client-certificate': certFile, 'client-key': keyFile } }] });
}
