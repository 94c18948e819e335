// The files of a PgBouncer config secret: pgbouncer.ini, userlist.txt, hba.conf
// (rendered by the engine) and the backend's CA. Everything TLS-dependent is
// here, so a TLS change rewrites this secret and PgBouncer takes it by RELOAD.
import type { PgBouncer } from '../../api/kubedb.com/v1/pgbouncer.ts';
import { KUBEDB_PGBOUNCER_PATHS, KUBEDB_PGBOUNCER_PID_FILE, KUBEDB_PGBOUNCER_RUN_DIR, renderPgBouncerConfig, PGBOUNCER_FILES, type PgBouncerConfigInput } from '../../engines/pgbouncer/index.ts';
import type { ClientAuthMode, SslMode, User } from '../../engines/types.ts';
import type { PoolerBackend } from '../backend.ts';

export const PGBOUNCER_DEFAULT_PORT = 5432;
export const PGBOUNCER_ADMIN_USER = 'pgbouncer';
export const PGBOUNCER_RUN_DIR = KUBEDB_PGBOUNCER_RUN_DIR;
/** Written at container start with `listen_addr = <pod IP>`; pgbouncer.ini includes it. */
export const PGBOUNCER_LISTEN_INI = `${PGBOUNCER_RUN_DIR}/listen.ini`;
export const PGBOUNCER_PID_FILE = KUBEDB_PGBOUNCER_PID_FILE;
/** Key of the config secret holding the backend CA; mounted at the engine's backend CA path. */
export const BACKEND_CA_KEY = 'backend-ca.crt';

export interface PgBouncerTlsView {
  sslMode: SslMode;
  authType: ClientAuthMode;
}

export function pgbouncerTlsView(db: PgBouncer): PgBouncerTlsView {
  const sslMode = (db.spec.sslMode ?? (db.spec.tls ? 'verify-full' : 'disable')) as SslMode;
  const authType: ClientAuthMode = db.spec.connectionPool?.authType === 'scram-sha-256' ? 'scram' : 'md5';
  return { sslMode, authType };
}

export function pgbouncerPort(db: PgBouncer): number {
  return db.spec.connectionPool?.port ?? PGBOUNCER_DEFAULT_PORT;
}

export function renderPgBouncerFiles(db: PgBouncer, tls: PgBouncerTlsView, backend: PoolerBackend, admin: User): Record<string, string> {
  const cp = db.spec.connectionPool ?? {};
  const input: PgBouncerConfigInput = {
    // Replaced below by an include of the pod-IP file (PgBouncer's ini cannot read env).
    listen: { address: '*', port: pgbouncerPort(db), socketDir: PGBOUNCER_RUN_DIR },
    sslMode: tls.sslMode,
    authType: tls.authType,
    paths: KUBEDB_PGBOUNCER_PATHS,
    backend: { host: backend.host, port: backend.port, sslMode: backend.sslMode, databaseName: db.spec.database.databaseName },
    // syncUsers: clients log in as the backend's users; PgBouncer reuses their passwords upstream.
    users: [admin, ...(db.spec.database.syncUsers === false ? [] : backend.users.filter((u) => u.name !== admin.name))],
    adminUsers: [admin.name],
    pool: {
      poolMode: cp.poolMode,
      maxClientConnections: cp.maxClientConnections,
      defaultPoolSize: cp.defaultPoolSize,
      minPoolSize: cp.minPoolSize,
      reservePoolSize: cp.reservePoolSize,
      reservePoolTimeoutSeconds: cp.reservePoolTimeoutSeconds,
      maxDBConnections: cp.maxDBConnections,
      maxUserConnections: cp.maxUserConnections,
      statsPeriodSeconds: cp.statsPeriodSeconds,
      ignoreStartupParameters: cp.ignoreStartupParameters,
    },
  };
  const r = renderPgBouncerConfig(input);
  return {
    [PGBOUNCER_FILES.ini]: listenOnPodIp(r.files.get(PGBOUNCER_FILES.ini)!),
    [PGBOUNCER_FILES.userlist]: r.files.get(PGBOUNCER_FILES.userlist)!,
    [PGBOUNCER_FILES.hba]: r.files.get(PGBOUNCER_FILES.hba)!,
    [BACKEND_CA_KEY]: backend.caPem,
  };
}

/**
 * Swaps `listen_addr = *` for an include of the file the container writes at
 * start. An include inside [pgbouncer] sets keys of that section; a wrapper
 * ini that includes this file cannot work, because a second [pgbouncer]
 * header resets the section to its defaults (how RELOAD forgets removed keys).
 */
export function listenOnPodIp(ini: string): string {
  const out = ini.replace(/^listen_addr = \*$/m, `%include ${PGBOUNCER_LISTEN_INI}`);
  if (out === ini) throw new Error('pgbouncer.ini has no listen_addr = * line to replace');
  return out;
}
