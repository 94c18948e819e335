// Cross-namespace references (a PgBouncer or Pgpool in one namespace in front
// of a Postgres in another) are opt-in on the target, in the spirit of Gateway
// API's ReferenceGrant: the Postgres names the namespaces whose poolers may use
// it in an annotation, so KubeDB's manifests keep applying unchanged and only
// whoever may edit the Postgres can grant it. Same-namespace references need
// no grant.

/** Comma-separated namespace names, or `*` for every namespace. */
export const ALLOWED_POOLER_NAMESPACES = 'pgtls.dev/allowed-pooler-namespaces';

type Annotated = { metadata?: { namespace?: string; annotations?: Record<string, string> } };

/** The namespaces the target lists (trimmed, empty entries dropped). */
export function grantedNamespaces(target: Annotated): string[] {
  const raw = target.metadata?.annotations?.[ALLOWED_POOLER_NAMESPACES] ?? '';
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Whether a pooler in `referrerNamespace` may use `target`. */
export function referenceAllowed(target: Annotated, referrerNamespace: string): boolean {
  if (target.metadata?.namespace === referrerNamespace) return true;
  const granted = grantedNamespaces(target);
  return granted.includes('*') || granted.includes(referrerNamespace);
}

/** Why a reference is refused, for admission and the provisioner alike. */
export function notGrantedMessage(target: { kind: string; namespace: string; name: string }, referrerNamespace: string): string {
  return `${target.kind} ${target.namespace}/${target.name} does not accept poolers from namespace "${referrerNamespace}": ` +
    `its owner opts in with the annotation ${ALLOWED_POOLER_NAMESPACES}: "${referrerNamespace}" on it`;
}
