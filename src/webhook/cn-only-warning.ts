// Client-certificate login on Pgpool: Pgpool-II takes the user from the
// certificate's CN alone (4.3, tested; its current docs show no map either),
// unlike PostgreSQL's clientname=DN, which pgtls uses with a per-database marker. pgtls closes
// what it can: a Pgpool whose issuer is a ClusterIssuer (or every Pgpool, with
// --own-client-ca=always) trusts a client CA of its own. What stays open is
// the engine's limit, not a reason to refuse; admission says what it is when a
// Pgpool turns to `cert`. PgBouncer has no cert login in KubeDB's API
// (authType md5 or scram-sha-256), so nothing to say there.
import type { TLSConfig } from '../api/shared/tls.ts';
import { ownClientCaPolicy, usesOwnClientCa } from '../provisioner/specs/client-ca.ts';

type Obj = { kind?: string; spec?: { clientAuthMode?: string; tls?: TLSConfig & { clientAuthMode?: string } } };

/** Where the object asks for cert login on a Pgpool, and its TLS spec if it carries one. */
function certPath(o: Obj): { path: string; tls?: TLSConfig } | undefined {
  switch (o.kind) {
    case 'Pgpool':
      return o.spec?.clientAuthMode === 'cert' ? { path: 'spec.clientAuthMode', tls: o.spec.tls } : undefined;
    case 'PgpoolOpsRequest':
      // The request's issuer when it names one; otherwise the Pgpool's, unknown here.
      return o.spec?.tls?.clientAuthMode === 'cert' ? { path: 'spec.tls.clientAuthMode', tls: o.spec.tls.issuerRef ? o.spec.tls : undefined } : undefined;
    default:
      return undefined;
  }
}

const BACKEND = "and, in every case, one from its backend's CA (Pgpool-II verifies clients and its backend with one CA file)";

/** A warning when `obj` turns cert login on for a Pgpool (on create, or an update that changes it to cert). */
export function cnOnlyWarnings(obj: unknown, old?: unknown): string[] {
  const now = certPath(obj as Obj);
  if (!now || (old && certPath(old as Obj))) return [];
  const head = `${now.path}: cert on a Pgpool checks only the client certificate's CN (Pgpool-II has no subject map)`;
  if (ownClientCaPolicy() === 'always' || (now.tls && usesOwnClientCa(now.tls))) {
    return [`${head}: its client certificates come from a CA of its own, so only certificates that CA signs log in, ${BACKEND}; give the backend an issuer no other tenant can use (docs/security.md)`];
  }
  const which = now.tls ? 'its Issuer' : 'its Issuer (a ClusterIssuer gets a client CA of its own)';
  return [
    `${head}: any certificate with CN=<user> from the CA of ${which} logs in as that user, ${BACKEND}; ` +
      `use an Issuer whose CA signs for no other database, or run the operator with --own-client-ca=always (docs/security.md)`,
  ];
}
