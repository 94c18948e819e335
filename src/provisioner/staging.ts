// Reads a database's cert-manager secrets and stages them (checked) for its
// servers; WaitFor until they exist and pass the checks.
import { WaitFor, type ProvisionerContext } from './context.ts';
import { readSecret } from './objects.ts';
import { stageFromSecrets, TlsMaterialError, type StagedTls, type TlsSecretData } from './specs/tls-staging.ts';

/** The Event reason when cert-manager's secrets fail the staging checks. */
export const TLS_MATERIAL_REFUSED = 'TLSMaterialRefused';

export interface CertSecretNames {
  server: string;
  client: string;
  exporter: string;
}

export async function stageCertSecrets(ctx: ProvisionerContext, namespace: string, certs: CertSecretNames, host: string, extraCas: string[] = []): Promise<StagedTls> {
  const read = (n: string) => readSecret(ctx.kube, namespace, n) as Promise<TlsSecretData | undefined>;
  const [server, client, exporter] = await Promise.all([read(certs.server), read(certs.client), read(certs.exporter)]);
  if (!server?.['tls.crt'] || !client?.['tls.crt']) throw new WaitFor(`certificate secrets ${certs.server} and ${certs.client}`);
  try {
    return stageFromSecrets({
      server: { name: certs.server, data: server, host },
      client: { name: certs.client, data: client },
      exporter: { name: certs.exporter, data: exporter },
      extraCas,
    });
  } catch (err) {
    // Refused: the servers keep the material staged before; say why where `kubectl describe` shows it.
    if (err instanceof TlsMaterialError) throw new WaitFor(`${err.message}; refused, the servers keep the TLS material staged before`, 15_000, TLS_MATERIAL_REFUSED);
    throw err;
  }
}
