// Enumerations shared by the database and ops-request kinds (kubedb-api.md §2, §4).
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Postgres and Pgpool client authentication. */
export const CLIENT_AUTH_MODES = ['md5', 'scram', 'cert'] as const;
export type ClientAuthMode = (typeof CLIENT_AUTH_MODES)[number];

/** PgBouncer `connectionPool.authType` and its ops request `tls.clientAuthMode`. */
export const PGBOUNCER_AUTH_TYPES = ['md5', 'scram-sha-256'] as const;
export type PgBouncerAuthType = (typeof PGBOUNCER_AUTH_TYPES)[number];

/** Narrows a string to one of `values`; the error names the field and the allowed values. */
export function oneOf<const T extends readonly string[]>(values: T, value: string, field: string): T[number] {
  const found = values.find((v) => v === value);
  if (found === undefined) throw new Error(`${field}: Unsupported value: "${value}": supported values: ${values.map((v) => `"${v}"`).join(', ')}`);
  return found;
}

export const DELETION_POLICIES = ['Halt', 'Delete', 'WipeOut', 'DoNotTerminate'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export const STORAGE_TYPES = ['Durable', 'Ephemeral'] as const;
export type StorageType = (typeof STORAGE_TYPES)[number];

export const DATABASE_PHASES = ['Provisioning', 'DataRestoring', 'Ready', 'Critical', 'NotReady', 'Halted', 'Unknown'] as const;
export type DatabasePhase = (typeof DATABASE_PHASES)[number];

export const OPS_PHASES = ['Pending', 'Progressing', 'Successful', 'WaitingForApproval', 'Failed', 'Approved', 'Denied', 'Skipped'] as const;
export type OpsPhase = (typeof OPS_PHASES)[number];

export const OPS_APPLY = ['IfReady', 'Always'] as const;

export const PRIVATE_KEY_ENCODINGS = ['PKCS1', 'PKCS8'] as const;

/** The issuer kinds cert-manager offers; `issuerRef.apiGroup` must be this group. */
export const ISSUER_KINDS = ['Issuer', 'ClusterIssuer'] as const;
export const CERT_MANAGER_GROUP = 'cert-manager.io';

/** Certificate aliases the provisioner issues for (Postgres also knows archiver and grpc-*). */
export const CERT_ALIASES = ['server', 'client', 'metrics-exporter'] as const;
