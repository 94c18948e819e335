// What admission needs to know beyond the object itself, looked up once per
// request so the defaulters and validators stay pure and synchronous.
import type { Postgres } from '../api/kubedb.com/v1/postgres.ts';
import type { PgBouncer } from '../api/kubedb.com/v1/pgbouncer.ts';
import type { Pgpool } from '../api/kubedb.com/v1alpha2/pgpool.ts';
import type { DatabaseKind } from '../api/kinds.ts';

export type Database = Postgres | PgBouncer | Pgpool;
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface CatalogEntry {
  /** The object name, which is what `spec.version` names. */
  name: string;
  /** `spec.version` of the catalog object, e.g. "15.18". */
  version: string;
  deprecated?: boolean;
}

export interface AdmissionFacts {
  operation: Operation;
  /** The catalog of the kind under review (databases only). */
  versions: CatalogEntry[];
  /** The database an ops request targets, or Pgpool's backend Postgres; null when looked up and absent. */
  target?: Database | null;
  /** True when the DB's TLS issuer is an ACME issuer (PgBouncer then gets only a server certificate). */
  issuerUsesAcme?: boolean;
}

/** Who sent the request, as the API server's AdmissionReview says (authentication.k8s.io UserInfo). */
export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** One question for a SubjectAccessReview: may the user do `verb` on this resource? */
export interface AccessCheck {
  verb: string;
  group: string;
  resource: string;
  namespace: string;
  name?: string;
}

/** The lookups the webhook (or a reconciler's guard) provides; see kube-lookups.ts. */
export interface Lookups {
  listVersions(kind: DatabaseKind): Promise<CatalogEntry[]>;
  getDatabase(kind: DatabaseKind, namespace: string, name: string): Promise<Database | undefined>;
  getIssuer(kind: string, namespace: string, name: string): Promise<{ spec?: { acme?: unknown } } | undefined>;
  /** Whether the user may do what `check` says (a SubjectAccessReview); false when it cannot be asked. */
  reviewAccess(user: UserInfo, check: AccessCheck): Promise<boolean>;
}

export const noFacts = (operation: Operation = 'CREATE'): AdmissionFacts => ({ operation, versions: [] });

/** Major version of a catalog entry ("15.18" → 15), or undefined when the name is not in the catalog. */
export function majorVersion(versions: CatalogEntry[], name: string | undefined): number | undefined {
  const v = versions.find((e) => e.name === name);
  if (!v) return undefined;
  const major = Number.parseInt(v.version.split('.')[0] ?? '', 10);
  return Number.isFinite(major) ? major : undefined;
}
