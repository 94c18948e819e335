// What the ops-manager needs per database kind. The state machine is shared;
// a kind supplies its TLS view, its certificates, and how its pods take a
// change (reload in place, or restart one by one).
import type { k8s } from '../kube/client.ts';
import type { KubeClient } from '../kube/api.ts';
import type { KindInfo } from '../provisioner/kinds.ts';
import type { DbObject, KindProvisioner } from '../provisioner/reconciler.ts';
import type { DbTls } from './tls-plan.ts';

export interface OpsAdapter {
  info: KindInfo;
  provisioner: KindProvisioner<DbObject>;
  dbTls(db: DbObject): DbTls;
  /** The database as it will be once the request is done (used for rendering, never written early). */
  planned(db: DbObject, next: DbTls): DbObject;
  /** Merge patch of `spec` for the UpdateDatabase step. */
  specPatch(next: DbTls): Record<string, unknown>;
  /** clientAuthMode once TLS is removed from a database that used cert. */
  defaultAuth(db: DbObject): string;
  certificates(db: DbObject): k8s.KubernetesObject[];
  path: 'reload' | 'restart';
  port: number;
  /** The port when the database chooses it (PgBouncer's connectionPool.port). */
  portOf?(db: DbObject): number;
  container: string;
  /** Run in the container to make the server re-read its files (reload path). */
  reloadCommand: string[];
  /**
   * Databases that trust this one's CA (poolers in front of a Postgres): during
   * a CA change they must trust the new CA before this one serves it.
   */
  dependents?(kube: KubeClient, db: DbObject): Promise<DbObject[]>;
  /** Pods in the order they take the change. */
  order(pods: k8s.V1Pod[]): k8s.V1Pod[];
}

const registry = new Map<string, OpsAdapter>();

export function registerOpsAdapter(a: OpsAdapter): void {
  registry.set(a.info.kind, a);
}

export function findOpsAdapter(kind: string): OpsAdapter | undefined {
  return registry.get(kind);
}

export function opsAdapter(kind: string): OpsAdapter {
  const a = registry.get(kind);
  if (!a) throw new Error(`no ops adapter for ${kind}`);
  return a;
}
