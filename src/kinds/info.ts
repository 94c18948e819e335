// A database kind's names as the operator uses them: API coordinates, its ops
// request kind, labels, certificate aliases and the client certificate's user.
// Derived from the API table (src/api/kinds.ts) where they can be.
import { apiVersionOf, type KindInfo as ApiKind } from '../api/kinds.ts';

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

export function kindInfo(
  db: ApiKind & { kind: DbKind },
  ops: ApiKind,
  o: { component: KindInfo['component']; clientCertUser: string; aliases?: readonly string[] },
): KindInfo {
  return {
    kind: db.kind,
    apiVersion: apiVersionOf(db),
    plural: db.plural,
    resourceName: `${db.plural}.${db.group}`,
    component: o.component,
    clientCertUser: o.clientCertUser,
    aliases: o.aliases ?? ['server', 'client', 'metrics-exporter'],
    opsKind: ops.kind,
    opsPlural: ops.plural,
  };
}

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
