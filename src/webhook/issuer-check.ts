// An issuer that does not exist: admission warns (kubectl shows it), as the
// object is still valid and the issuer may be created next; nothing is issued
// until it exists. Warnings only: a missing issuer is never a reason to refuse.
import type { Lookups } from './facts.ts';

type IssuerRef = { kind?: string; name?: string };
type WithTls = { metadata?: { namespace?: string }; spec?: { tls?: { issuerRef?: IssuerRef; certificates?: { issuerRef?: IssuerRef }[] } } };

/** The warnings for every issuer the object names that the cluster does not have. */
export async function missingIssuerWarnings(obj: unknown, lookups: Lookups): Promise<string[]> {
  const o = obj as WithTls;
  const ns = o.metadata?.namespace ?? '';
  const refs: [string, IssuerRef][] = [];
  if (o.spec?.tls?.issuerRef) refs.push(['spec.tls.issuerRef', o.spec.tls.issuerRef]);
  (o.spec?.tls?.certificates ?? []).forEach((c, i) => c.issuerRef && refs.push([`spec.tls.certificates[${i}].issuerRef`, c.issuerRef]));
  const out: string[] = [];
  for (const [path, ref] of refs) {
    if (!ref.name || (ref.kind !== 'Issuer' && ref.kind !== 'ClusterIssuer')) continue;
    let found: unknown;
    try {
      found = await lookups.getIssuer(ref.kind, ref.kind === 'Issuer' ? ns : '', ref.name);
    } catch {
      continue; // cannot tell: no warning rather than a wrong one
    }
    if (!found) out.push(`${path}: ${ref.kind} "${ref.name}" not found${ref.kind === 'Issuer' ? ` in namespace "${ns}"` : ''}; no certificate is issued until it exists`);
  }
  return out;
}
