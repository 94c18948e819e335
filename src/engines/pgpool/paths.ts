// Where KubeDB's Pgpool pods have their files (kubedb-api.md §3.4): the TLS secret lands in
// /opt/pgpool-II/tls as ca.pem, tls.crt, tls.key; the config in /opt/pgpool-II/etc.
import type { TlsFilePaths } from '../types.ts';

export interface PgpoolPaths {
  /** pgpool.conf, pool_hba.conf, pool_passwd, pcp.conf. */
  configDir: string;
  /** ssl_cert / ssl_key / ssl_ca_cert. The one CA file verifies client certs AND the backend. */
  tls: TlsFilePaths;
  /** pid file and pgpool_status. */
  runDir: string;
}

export const KUBEDB_PGPOOL_PATHS: PgpoolPaths = {
  configDir: '/opt/pgpool-II/etc',
  tls: { certFile: '/opt/pgpool-II/tls/tls.crt', keyFile: '/opt/pgpool-II/tls/tls.key', caFile: '/opt/pgpool-II/tls/ca.pem' },
  runDir: '/var/run/pgpool',
};

export function pgpoolPathsUnder(dir: string): PgpoolPaths {
  return {
    configDir: `${dir}/etc`,
    tls: { certFile: `${dir}/tls/tls.crt`, keyFile: `${dir}/tls/tls.key`, caFile: `${dir}/tls/ca.pem` },
    runDir: `${dir}/run`,
  };
}
