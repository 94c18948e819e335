// A client CA of a database's own: the CA its servers trust for client
// certificates, and the only one that signs its `client` certificate.
//
// Why: a ClusterIssuer signs what anyone who may ask it asks for. Pgpool-II
// logs a certificate in by its CN alone (4.3, tested; its current docs describe
// no map either), so any CN=postgres it signs would log in; PostgreSQL maps the
// full subject with the database's marker (engines/postgres/ident.ts), but the
// marker is only a subject value that anyone may put in a Certificate of their
// own. With a CA that exists only for this database, nothing signed elsewhere
// verifies. KubeDB itself makes such per-database issuers for Postgres's gRPC
// certificates (`<db>-grpc-selfsigned`, `<db>-grpc-issuer`). Pure: the spec
// in, cert-manager objects out.
import { nameWithSuffix } from '../../api/shared/names.ts';
import type { TLSConfig } from '../../api/shared/tls.ts';
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels } from '../../kinds/info.ts';
import { databaseMarker } from '../../certs/policy.ts';
import { ownerReference, type DbRef } from './owner.ts';

/** When a Postgres or Pgpool gets a client CA of its own (operator flag --own-client-ca). */
export type OwnClientCaPolicy = 'cluster-issuers' | 'always';
export const OWN_CLIENT_CA_POLICIES: readonly OwnClientCaPolicy[] = ['cluster-issuers', 'always'];

let configured: OwnClientCaPolicy = 'cluster-issuers';

/** Set once at operator start from its flags. */
export function configureOwnClientCa(p: OwnClientCaPolicy): void {
  if (!OWN_CLIENT_CA_POLICIES.includes(p)) throw new Error(`--own-client-ca: Unsupported value: ${JSON.stringify(p)}: supported values: ${OWN_CLIENT_CA_POLICIES.map((v) => `"${v}"`).join(', ')}`);
  configured = p;
}

export function ownClientCaPolicy(): OwnClientCaPolicy {
  return configured;
}

/** The issuer that would sign the `client` certificate as the user wrote the spec. */
export function clientIssuerOf(tls: TLSConfig | undefined): TLSConfig['issuerRef'] {
  return tls?.certificates?.find((c) => c.alias === 'client')?.issuerRef ?? tls?.issuerRef;
}

/**
 * Whether the database's client certificates come from a CA of its own: with
 * TLS on, always under `always`, else when the `client` certificate's issuer is
 * a ClusterIssuer (a CA every namespace can ask to sign).
 */
export function usesOwnClientCa(tls: TLSConfig | undefined, policy: OwnClientCaPolicy = configured): boolean {
  const issuer = clientIssuerOf(tls);
  if (!issuer) return false;
  return policy === 'always' || issuer.kind === 'ClusterIssuer';
}

export interface ClientCaNames {
  /** The self-signed Issuer that signs the CA certificate. */
  selfSigned: string;
  /** The CA Certificate and its Secret. */
  ca: string;
  /** The CA Issuer that signs the database's `client` certificate. */
  issuer: string;
}

export function clientCaNames(db: string): ClientCaNames {
  return { selfSigned: nameWithSuffix(db, 'client-ca-selfsigned'), ca: nameWithSuffix(db, 'client-ca'), issuer: nameWithSuffix(db, 'client-ca-issuer') };
}

/** The issuerRef (as in a database's spec.tls) of the database's own client CA. */
export function ownClientIssuerRef(db: string): NonNullable<TLSConfig['issuerRef']> {
  return { apiGroup: 'cert-manager.io', kind: 'Issuer', name: clientCaNames(db).issuer };
}

/** The spec with the `client` certificate signed by the database's own CA (the user's other fields kept). */
export function withOwnClientIssuer(tls: TLSConfig, db: string): TLSConfig {
  const issuerRef = ownClientIssuerRef(db);
  const certs = tls.certificates ?? [];
  const client = certs.find((c) => c.alias === 'client');
  return {
    ...tls,
    certificates: client ? certs.map((c) => (c.alias === 'client' ? { ...c, issuerRef } : c)) : [...certs, { alias: 'client', issuerRef }],
  };
}

/**
 * The self-signed Issuer, the CA Certificate and the CA Issuer. The CA keeps
 * its key when cert-manager renews it (rotationPolicy Never), so client
 * certificates signed before a renewal still verify after it.
 */
export function buildClientCaObjects(info: KindInfo, db: DbRef): object[] {
  const n = clientCaNames(db.name);
  const metadata = (name: string) => ({ name, namespace: db.namespace, labels: offshootLabels(info, db.name), ownerReferences: [ownerReference(info, db)] });
  return [
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: metadata(n.selfSigned), spec: { selfSigned: {} } },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: metadata(n.ca),
      spec: {
        isCA: true,
        secretName: n.ca,
        // The CN names the database; the marker ties the CA to it as the client certificates are tied.
        commonName: `${db.name} client CA`.slice(0, 64),
        subject: { organizationalUnits: [databaseMarker(db.namespace, db.name)] },
        duration: '87600h',
        renewBefore: '720h',
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' },
        usages: ['cert sign', 'crl sign', 'digital signature'],
        issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: n.selfSigned },
        secretTemplate: { labels: offshootLabels(info, db.name) },
      },
    },
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: metadata(n.issuer), spec: { ca: { secretName: n.ca } } },
  ];
}
