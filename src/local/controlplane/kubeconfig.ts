// Kubeconfig files for the admin user and each component, with the
// credentials embedded so a kubeconfig can be copied elsewhere and still work.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigInput {
  server: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  user: string;
  clusterName: string;
}

export function renderKubeconfig(k: KubeconfigInput): string {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  const context = `${k.user}@${k.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: k.clusterName, cluster: { server: k.server, 'certificate-authority-data': b64(k.caFile) } }],
    users: [{ name: k.user, user: { 'client-certificate-data': b64(k.certFile), 'client-key-data': b64(k.keyFile) } }],
    contexts: [{ name: context, context: { cluster: k.clusterName, user: k.user } }],
    'current-context': context,
    preferences: {},
  });
}

/** Kubeconfigs carry a private key: 0600, written atomically. */
export function writeKubeconfig(path: string, k: KubeconfigInput): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, renderKubeconfig(k), { mode: 0o600 });
  renameSync(tmp, path);
}
