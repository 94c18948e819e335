// Defaults every database kind shares (KubeDB's SetDefaults / SetTLSDefaults).
import type { TLSConfig } from '../../api/shared/tls.ts';
import type { SecretReference } from '../../api/shared/secret-ref.ts';
import type { SslMode, DeletionPolicy } from '../../api/shared/enums.ts';
import { CERT_MANAGER_GROUP } from '../../api/shared/enums.ts';
import { authSecretName, certSecretName } from '../../api/shared/names.ts';

interface CommonSpec {
  replicas?: number;
  authSecret?: SecretReference;
  sslMode?: SslMode;
  tls?: TLSConfig;
  deletionPolicy?: DeletionPolicy;
  halted?: boolean;
}

export function defaultCommon(spec: CommonSpec, dbName: string): void {
  spec.replicas ??= 1;
  spec.deletionPolicy ??= 'Delete';
  // A halted database keeps its data: KubeDB forces Halt (DoNotTerminate is refused by validation).
  if (spec.halted && spec.deletionPolicy !== 'DoNotTerminate') spec.deletionPolicy = 'Halt';
  spec.authSecret ??= {};
  // With generateName the name does not exist yet at mutation: nothing is derived
  // from an empty one (no "-auth"); the provisioner derives it from the real name.
  if (dbName) spec.authSecret.name ||= authSecretName(dbName);
  spec.authSecret.kind ||= 'Secret';
  spec.sslMode ??= spec.tls ? 'verify-full' : 'disable';
}

/** cert-manager.io is the only group an issuer may come from, so an omitted group means it. */
export function defaultIssuerGroups(tls: { issuerRef?: { apiGroup?: string }; certificates?: { issuerRef?: { apiGroup?: string } }[] }): void {
  if (tls.issuerRef) tls.issuerRef.apiGroup ||= CERT_MANAGER_GROUP;
  for (const c of tls.certificates ?? []) if (c.issuerRef) c.issuerRef.apiGroup ||= CERT_MANAGER_GROUP;
}

/**
 * SetTLSDefaults: with an issuer, make sure each alias has an entry, and give
 * every entry its secret name `<db>-<alias>-cert` unless the user chose one.
 */
export function defaultTls(tls: TLSConfig | undefined, dbName: string, aliases: readonly string[]): void {
  if (!tls) return;
  defaultIssuerGroups(tls);
  if (!tls.issuerRef) return;
  tls.certificates ??= [];
  for (const alias of aliases) if (!tls.certificates.some((c) => c.alias === alias)) tls.certificates.push({ alias });
  if (dbName) for (const c of tls.certificates) c.secretName ||= certSecretName(dbName, c.alias);
}
