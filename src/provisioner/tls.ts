// What every kind does the same with TLS: the cert-manager Certificates of its
// aliases (covering its Services and its pods' stable names), their secret
// names, and staging their checked contents for the servers.
import type { KubeObject } from '../kube/api.ts';
import { authSecretName } from '../api/shared/names.ts';
import { configSecretName } from './specs/secrets.ts';
import { stagedTlsSecretName } from './specs/tls-staging.ts';
import type { TLSConfig } from '../api/shared/tls.ts';
import type { ProvisionerContext } from './context.ts';
import type { KindInfo } from '../kinds/info.ts';
import { aliasSecretName, buildCertificates } from './specs/certificates.ts';
import type { DbRef } from './specs/owner.ts';
import { governingServiceName } from './specs/services.ts';
import type { StagedTls } from './specs/tls-staging.ts';
import { stageCertSecrets, type CertSecretNames } from './staging.ts';
import { buildClientCaObjects, clientCaNames, usesOwnClientCa, withOwnClientIssuer } from './specs/client-ca.ts';

export interface TlsDb {
  metadata?: { name?: string; namespace?: string; uid?: string };
  spec: { tls?: TLSConfig };
}

const refOf = (db: TlsDb): DbRef => ({ name: db.metadata!.name!, namespace: db.metadata!.namespace!, uid: db.metadata!.uid! });

export function certSecretNames(db: TlsDb): CertSecretNames {
  const name = db.metadata!.name!;
  return {
    server: aliasSecretName(name, db.spec.tls, 'server'),
    client: aliasSecretName(name, db.spec.tls, 'client'),
    exporter: aliasSecretName(name, db.spec.tls, 'metrics-exporter'),
  };
}

/** Secrets named after the database that WipeOut removes besides its owned objects. */
export function databaseSecrets(db: TlsDb & { spec: { authSecret?: { name?: string } } }): string[] {
  const name = db.metadata!.name!;
  const c = certSecretNames(db);
  return [db.spec.authSecret?.name || authSecretName(name), configSecretName(name), stagedTlsSecretName(name), c.server, c.client, c.exporter, clientCaNames(name).ca];
}

export interface CertificateOptions {
  /** Services beyond `<db>` and the governing one that the server certificate covers. */
  extraServices?: string[];
  /**
   * The kind may have a client CA of its own (specs/client-ca.ts): when the
   * policy says so, its `client` certificate comes from that CA, whose objects
   * come first.
   */
  ownClientCa?: boolean;
}

/**
 * Certificates (and, with a client CA of its own, its Issuers) for the TLS
 * spec; the server certificate covers `<db>`, extra Services and every pod.
 */
export function databaseCertificates(info: KindInfo, db: TlsDb, opts: CertificateOptions = {}): KubeObject[] {
  if (!db.spec.tls?.issuerRef) return [];
  const ref = refOf(db);
  const gov = governingServiceName(ref.name);
  const own = !!opts.ownClientCa && usesOwnClientCa(db.spec.tls);
  const certificates = buildCertificates({
    info,
    db: ref,
    tls: own ? withOwnClientIssuer(db.spec.tls, ref.name) : db.spec.tls,
    services: [ref.name, ...(opts.extraServices ?? []), gov],
    podDomains: [`*.${gov}.${ref.namespace}.svc`, `*.${gov}.${ref.namespace}.svc.cluster.local`],
  });
  return own ? [...(buildClientCaObjects(info, ref) as KubeObject[]), ...certificates] : certificates;
}

/** Checked material from cert-manager's secrets (undefined when TLS is off); WaitFor until sound. */
export async function stageDatabase(ctx: ProvisionerContext, db: TlsDb, extraCas: string[] = []): Promise<StagedTls | undefined> {
  if (!db.spec.tls?.issuerRef) return undefined;
  const ref = refOf(db);
  return stageCertSecrets(ctx, ref.namespace, certSecretNames(db), `${ref.name}.${ref.namespace}.svc`, extraCas);
}
