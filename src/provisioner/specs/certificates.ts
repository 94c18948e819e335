// cert-manager Certificates for a database's TLS aliases, with KubeDB's
// secret names, subjects and usages. Pure: the DB spec in, objects out.
import type { CertificateSpec, TLSConfig } from '../../api/shared/tls.ts';
import { certSecretName } from '../../api/shared/names.ts';
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels } from '../../kinds/info.ts';
import { ownerReference, type DbRef } from './owner.ts';
import { CertificatePolicyError, certificatePolicy, databaseMarker, tlsRequestProblems, type CertificatePolicy } from '../../certs/policy.ts';

export interface CertificateObject {
  apiVersion: 'cert-manager.io/v1';
  kind: 'Certificate';
  metadata: { name: string; namespace: string; labels: Record<string, string>; ownerReferences: ReturnType<typeof ownerReference>[] };
  spec: Record<string, unknown>;
}

/** The Secret an alias lands in: the user's secretName, else `<db>-<alias>-cert`. */
export function aliasSecretName(db: string, tls: TLSConfig | undefined, alias: string): string {
  return tls?.certificates?.find((c) => c.alias === alias)?.secretName || certSecretName(db, alias);
}

/** Every alias the database uses: KubeDB's defaults plus any extra the user listed. */
export function aliasesOf(info: KindInfo, tls: TLSConfig | undefined): string[] {
  const out = [...info.aliases];
  for (const c of tls?.certificates ?? []) if (!out.includes(c.alias)) out.push(c.alias);
  return out;
}

/** In-cluster names a server certificate must cover for clients to verify it. */
export function serviceHosts(services: string[], namespace: string): string[] {
  return services.flatMap((s) => [s, `${s}.${namespace}`, `${s}.${namespace}.svc`, `${s}.${namespace}.svc.cluster.local`]);
}

const uniq = (xs: string[]) => [...new Set(xs)];

export interface CertificateInputs {
  info: KindInfo;
  db: DbRef;
  tls: TLSConfig;
  /** Services (and the governing service's pod wildcard) the server cert covers. */
  services: string[];
  podDomains: string[];
  /** Default: the policy the operator was started with (its flags). */
  policy?: CertificatePolicy;
}

/** Every name a database's server certificate covers anyway: a requested SAN among these is always allowed. */
export function ownCertificateNames(services: string[], namespace: string, podDomains: string[]): string[] {
  return uniq([...serviceHosts(services, namespace), ...podDomains, 'localhost', '127.0.0.1', '::1']);
}

/**
 * The subject of a client-side certificate: the user's, plus the database's
 * marker as an organizational unit, which PostgreSQL's ident map requires
 * next to the CN (see engines/postgres/ident.ts).
 */
function clientSubject(subject: CertificateSpec['subject'], db: DbRef): Record<string, unknown> {
  return { ...(subject ?? {}), organizationalUnits: [...(subject?.organizationalUnits ?? []), databaseMarker(db.namespace, db.name)] };
}

export function buildCertificates(inp: CertificateInputs): CertificateObject[] {
  const { info, db, tls } = inp;
  // Refused here as well as at admission, so no path (an ops request, an
  // object admitted before the policy was set) applies a Certificate the policy refuses.
  const problems = tlsRequestProblems(tls, ownCertificateNames(inp.services, db.namespace, inp.podDomains), inp.policy ?? certificatePolicy());
  if (problems.length) throw new CertificatePolicyError('spec.tls', problems);
  const out: CertificateObject[] = [];
  for (const alias of aliasesOf(info, tls)) {
    const user = tls.certificates?.find((c) => c.alias === alias) ?? ({ alias } as CertificateSpec);
    const issuerRef = user.issuerRef ?? tls.issuerRef;
    if (!issuerRef) continue;
    const secretName = aliasSecretName(db.name, tls, alias);
    const spec: Record<string, unknown> = {
      secretName,
      issuerRef: { group: issuerRef.apiGroup ?? 'cert-manager.io', kind: issuerRef.kind, name: issuerRef.name },
      secretTemplate: { labels: offshootLabels(info, db.name) },
    };
    if (alias === 'server') {
      spec.commonName = db.name;
      spec.dnsNames = uniq([...serviceHosts(inp.services, db.namespace), ...inp.podDomains, 'localhost', ...(user.dnsNames ?? [])]);
      spec.ipAddresses = uniq(['127.0.0.1', ...(user.ipAddresses ?? [])]);
      spec.usages = ['digital signature', 'key encipherment', 'server auth', 'client auth'];
    } else {
      // Client-side certificates: the CN is the user they log in as.
      spec.commonName = alias === 'client' ? info.clientCertUser : `${db.name}-${alias}`;
      spec.usages = ['digital signature', 'key encipherment', 'client auth'];
      if (user.dnsNames?.length) spec.dnsNames = user.dnsNames;
      if (user.ipAddresses?.length) spec.ipAddresses = user.ipAddresses;
    }
    if (alias !== 'server') spec.subject = clientSubject(user.subject, db);
    else if (user.subject) spec.subject = user.subject;
    if (user.duration) spec.duration = user.duration;
    if (user.renewBefore) spec.renewBefore = user.renewBefore;
    if (user.uris?.length) spec.uris = user.uris;
    if (user.emailAddresses?.length) spec.emailAddresses = user.emailAddresses;
    if (user.privateKey?.encoding) spec.privateKey = { encoding: user.privateKey.encoding };
    out.push({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: secretName, namespace: db.namespace, labels: offshootLabels(info, db.name), ownerReferences: [ownerReference(info, db)] },
      spec,
    });
  }
  return out;
}
