// Where KubeDB's PgBouncer pods have their files (kubedb-api.md §3.4): serving certs under
// /var/run/pgbouncer/tls/serving/<alias>/, the ini in /etc/config.
import type { TlsFilePaths } from '../types.ts';

export interface PgBouncerPaths {
  /** Directory holding pgbouncer.ini, userlist.txt and hba.conf (the ini names the others absolutely). */
  configDir: string;
  /** Serving certificate for clients: client_tls_* (the `server` alias). */
  serving: TlsFilePaths;
  /**
   * PgBouncer → backend: server_tls_ca_file trusts the backend's CA (pgtls puts the AppBinding's
   * caBundle here); cert/key are the `client` alias, presented only when the backend wants certs.
   */
  backend: TlsFilePaths;
}

/** The Unix socket (admin console), the start-up ini and the pid file live here (an emptyDir). */
export const KUBEDB_PGBOUNCER_RUN_DIR = '/var/run/pgbouncer/run';
/** Written at container start with the server's pid; a reload signals it. */
export const KUBEDB_PGBOUNCER_PID_FILE = `${KUBEDB_PGBOUNCER_RUN_DIR}/pgbouncer.pid`;

export const KUBEDB_PGBOUNCER_PATHS: PgBouncerPaths = {
  configDir: '/etc/config',
  serving: {
    certFile: '/var/run/pgbouncer/tls/serving/server/tls.crt',
    keyFile: '/var/run/pgbouncer/tls/serving/server/tls.key',
    caFile: '/var/run/pgbouncer/tls/serving/server/ca.crt',
  },
  backend: {
    certFile: '/var/run/pgbouncer/tls/serving/client/tls.crt',
    keyFile: '/var/run/pgbouncer/tls/serving/client/tls.key',
    caFile: '/var/run/pgbouncer/tls/backend/ca.crt',
  },
};

/** The same layout under one local directory (tests, local mode). */
export function pgbouncerPathsUnder(dir: string): PgBouncerPaths {
  return {
    configDir: `${dir}/etc`,
    serving: { certFile: `${dir}/tls/server/tls.crt`, keyFile: `${dir}/tls/server/tls.key`, caFile: `${dir}/tls/server/ca.crt` },
    backend: { certFile: `${dir}/tls/client/tls.crt`, keyFile: `${dir}/tls/client/tls.key`, caFile: `${dir}/tls/backend/ca.crt` },
  };
}
