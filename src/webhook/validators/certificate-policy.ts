// Certificates only for what they serve (docs/security.md): the names, subject
// values and ClusterIssuers a TLS block asks for, against the policy the
// operator was started with. The same check runs where Certificates are built
// (provisioner/specs/certificates.ts); here it refuses early, with field paths.
import type { TLSConfig } from '../../api/shared/tls.ts';
import { certificatePolicy, tlsRequestProblems, type CertificatePolicy } from '../../certs/policy.ts';
import { governingServiceName } from '../../provisioner/specs/services.ts';
import { ownCertificateNames } from '../../provisioner/specs/certificates.ts';
import { forbidden, type FieldError } from '../field-error.ts';

/** The Services a kind's server certificate covers (provisioner/tls.ts databaseCertificates and its callers). */
function servicesOf(kind: string | undefined, name: string): string[] {
  const extra = kind === 'Postgres' || kind === 'PostgresOpsRequest' ? [`${name}-standby`] : [];
  return [name, ...extra, governingServiceName(name)];
}

export function certificatePolicyErrors(
  tls: TLSConfig | undefined,
  path: string,
  target: { kind?: string; namespace: string; name: string },
  policy: CertificatePolicy = certificatePolicy(),
): FieldError[] {
  const { namespace, name } = target;
  const gov = governingServiceName(name);
  const own = ownCertificateNames(servicesOf(target.kind, name), namespace, [`*.${gov}.${namespace}.svc`, `*.${gov}.${namespace}.svc.cluster.local`]);
  return tlsRequestProblems(tls, own, policy).map((p) => forbidden(`${path}.${p.field}`, `${JSON.stringify(p.value)} ${p.detail}`));
}
