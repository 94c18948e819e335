// What the provisioner and the ops-manager need to know about each database
// kind, beyond its engine: API coordinates, labels, certificate aliases and
// the client certificate's user. Adding a kind is one entry here plus an
// engine folder.

export type DbKind = 'Postgres' | 'PgBouncer' | 'Pgpool';

export interface KindInfo {
  kind: DbKind;
  apiVersion: string;
  plural: string;
  /** app.kubernetes.io/name, as KubeDB labels offshoots. */
  resourceName: string;
  component: 'database' | 'connection-pooler';
  /** The user a client certificate authenticates as (its CN). */
  clientCertUser: string;
  /** Aliases SetTLSDefaults adds when tls.issuerRef is set. */
  aliases: readonly string[];
  opsKind: string;
  opsPlural: string;
}

export const KINDS: Record<DbKind, KindInfo> = {
  Postgres: {
    kind: 'Postgres',
    apiVersion: 'kubedb.com/v1',
    plural: 'postgreses',
    resourceName: 'postgreses.kubedb.com',
    component: 'database',
    clientCertUser: 'postgres',
    aliases: ['server', 'client', 'metrics-exporter'],
    opsKind: 'PostgresOpsRequest',
    opsPlural: 'postgresopsrequests',
  },
  PgBouncer: {
    kind: 'PgBouncer',
    apiVersion: 'kubedb.com/v1',
    plural: 'pgbouncers',
    resourceName: 'pgbouncers.kubedb.com',
    component: 'connection-pooler',
    clientCertUser: 'pgbouncer',
    aliases: ['server', 'client', 'metrics-exporter'],
    opsKind: 'PgBouncerOpsRequest',
    opsPlural: 'pgbounceropsrequests',
  },
  Pgpool: {
    kind: 'Pgpool',
    apiVersion: 'kubedb.com/v1alpha2',
    plural: 'pgpools',
    resourceName: 'pgpools.kubedb.com',
    component: 'connection-pooler',
    clientCertUser: 'postgres',
    aliases: ['server', 'client', 'metrics-exporter'],
    opsKind: 'PgpoolOpsRequest',
    opsPlural: 'pgpoolopsrequests',
  },
};

/** KubeDB's offshoot labels: every object the operator makes for a database carries them. */
export function offshootLabels(info: KindInfo, db: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': info.resourceName,
    'app.kubernetes.io/instance': db,
    'app.kubernetes.io/managed-by': 'kubedb.com',
    'app.kubernetes.io/component': info.component,
  };
}

/** The selector labels (no component: KubeDB selects on name + instance). */
export function selectorLabels(info: KindInfo, db: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': info.resourceName,
    'app.kubernetes.io/instance': db,
    'app.kubernetes.io/managed-by': 'kubedb.com',
  };
}
