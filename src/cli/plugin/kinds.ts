// The three database kinds as the plugin addresses them: `<kind>/<name>` on the
// command line, KubeDB's API coordinates, labels and ops-request kinds. Only
// KubeDB's public API is used here, so the plugin works on any cluster that
// serves it, not just on pgtls.
import { PluginError } from './errors.ts';

export type KindName = 'Postgres' | 'PgBouncer' | 'Pgpool';

export interface DbKind {
  kind: KindName;
  apiVersion: string;
  plural: string;
  /** app.kubernetes.io/name of every object KubeDB makes for a database of this kind. */
  resourceName: string;
  opsKind: string;
  opsPlural: string;
  opsShortName: string;
  /** Spellings accepted before the slash. */
  names: string[];
  /** The container serving pgwire, and its port when the pod spec does not say. */
  container: string;
  defaultPort: number;
  /** clientAuthMode values of the ops request's tls block. */
  clientAuthModes: string[];
}

export const OPS_API_VERSION = 'ops.kubedb.com/v1alpha1';

export const KINDS: readonly DbKind[] = [
  {
    kind: 'Postgres', apiVersion: 'kubedb.com/v1', plural: 'postgreses', resourceName: 'postgreses.kubedb.com',
    opsKind: 'PostgresOpsRequest', opsPlural: 'postgresopsrequests', opsShortName: 'pgops',
    names: ['pg', 'postgres', 'postgreses', 'postgres.kubedb.com', 'postgreses.kubedb.com'],
    container: 'postgres', defaultPort: 5432, clientAuthModes: ['md5', 'scram', 'cert'],
  },
  {
    kind: 'PgBouncer', apiVersion: 'kubedb.com/v1', plural: 'pgbouncers', resourceName: 'pgbouncers.kubedb.com',
    opsKind: 'PgBouncerOpsRequest', opsPlural: 'pgbounceropsrequests', opsShortName: 'pbops',
    names: ['pb', 'pgbouncer', 'pgbouncers', 'pgbouncer.kubedb.com', 'pgbouncers.kubedb.com'],
    container: 'pgbouncer', defaultPort: 5432, clientAuthModes: ['md5', 'scram-sha-256'],
  },
  {
    kind: 'Pgpool', apiVersion: 'kubedb.com/v1alpha2', plural: 'pgpools', resourceName: 'pgpools.kubedb.com',
    opsKind: 'PgpoolOpsRequest', opsPlural: 'pgpoolopsrequests', opsShortName: 'ppops',
    names: ['pp', 'pgpool', 'pgpools', 'pgpool.kubedb.com', 'pgpools.kubedb.com'],
    container: 'pgpool', defaultPort: 9999, clientAuthModes: ['md5', 'scram', 'cert'],
  },
];

export interface Target {
  kind: DbKind;
  name: string;
}

const ALLOWED = KINDS.map((k) => `${k.names[0]} (${k.kind})`).join(', ');

/** `pg/ha-postgres`, `postgres/ha-postgres`, `Pgpool/pp`: the kind is case-insensitive. */
export function parseTarget(text: string): Target {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text.trim());
  if (!m) throw new PluginError(`"${text}" is not <kind>/<name>; kinds: ${ALLOWED}`, 2);
  const k = m[1]!.toLowerCase();
  const kind = KINDS.find((x) => x.names.includes(k) || x.kind.toLowerCase() === k);
  if (!kind) throw new PluginError(`unknown kind "${m[1]}" in "${text}"; kinds: ${ALLOWED}`, 2);
  const name = m[2]!;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new PluginError(`"${name}" is not a valid object name (lower-case letters, digits, '-' and '.')`, 2);
  return { kind, name };
}

/** The labels KubeDB selects a database's pods by. */
export function podSelector(kind: DbKind, name: string): string {
  return `app.kubernetes.io/name=${kind.resourceName},app.kubernetes.io/instance=${name}`;
}

export function describeTarget(t: Target, namespace: string): string {
  return `${t.kind.kind} ${namespace}/${t.name}`;
}
