// Client-certificate login on a pooler: PgBouncer 1.18 and Pgpool-II 4.3 take
// the user from the certificate's CN alone (neither has a subject map, unlike
// PostgreSQL's clientname=DN, which pgtls uses with a per-database marker).
// Any certificate with CN=<user> from a CA the pooler trusts logs in. That is
// the engine's limit, not a reason to refuse; admission says so whenever a
// pooler turns to `cert`, with what to do about it.

type Obj = { kind?: string; spec?: { clientAuthMode?: string; connectionPool?: { authType?: string }; tls?: { clientAuthMode?: string } } };

/** Where the object asks for cert login on a pooler, if it does. */
function certPath(o: Obj): { path: string; kind: string } | undefined {
  switch (o.kind) {
    case 'PgBouncer':
      return o.spec?.connectionPool?.authType === 'cert' ? { path: 'spec.connectionPool.authType', kind: 'PgBouncer' } : undefined;
    case 'Pgpool':
      return o.spec?.clientAuthMode === 'cert' ? { path: 'spec.clientAuthMode', kind: 'Pgpool' } : undefined;
    case 'PgBouncerOpsRequest':
      return o.spec?.tls?.clientAuthMode === 'cert' ? { path: 'spec.tls.clientAuthMode', kind: 'PgBouncer' } : undefined;
    case 'PgpoolOpsRequest':
      return o.spec?.tls?.clientAuthMode === 'cert' ? { path: 'spec.tls.clientAuthMode', kind: 'Pgpool' } : undefined;
    default:
      return undefined;
  }
}

/** A warning when `obj` turns cert login on for a pooler (on create, or an update that changes it to cert). */
export function cnOnlyWarnings(obj: unknown, old?: unknown): string[] {
  const now = certPath(obj as Obj);
  if (!now || (old && certPath(old as Obj))) return [];
  const engine = now.kind === 'PgBouncer' ? 'PgBouncer 1.18' : 'Pgpool-II 4.3';
  return [
    `${now.path}: cert on a ${now.kind} checks only the client certificate's CN (${engine} has no subject map): ` +
      `any certificate with CN=<user> from a CA it trusts logs in as that user; ` +
      `give it an Issuer with its own CA that no other database uses (docs/security.md)`,
  ];
}
