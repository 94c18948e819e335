// What the ops-manager needs per database kind beyond its provisioner: its TLS
// view, the database as it will be once a request is done, and its pods'
// order. The step machine is shared; each kind's module (src/kinds/) supplies this.
import type { k8s } from '../kube/client.ts';
import type { KubeClient } from '../kube/api.ts';
import type { DbObject } from '../api/objects.ts';
import type { DbTls } from './reconfigure-tls/plan.ts';

export interface OpsAdapter<DB extends DbObject = DbObject> {
  dbTls(db: DB): DbTls;
  /** The database as it will be once the request is done (used for rendering, never written early). */
  planned(db: DB, next: DbTls): DB;
  /** Merge patch of `spec` for the UpdateDatabase step. */
  specPatch(next: DbTls): Record<string, unknown>;
  /** clientAuthMode once TLS is removed from a database that used cert. */
  defaultAuth(db: DB): string;
  /** The port clients reach the servers on (PgBouncer's comes from its spec). */
  port(db: DB): number;
  /**
   * Databases that trust this one's CA (poolers in front of a Postgres): during
   * a CA change they must trust the new CA before this one serves it.
   */
  dependents?(kube: KubeClient, db: DB): Promise<DbObject[]>;
  /** Pods in the order they take the change. */
  order(pods: k8s.V1Pod[]): k8s.V1Pod[];
}
