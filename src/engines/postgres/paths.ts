// Where KubeDB's Postgres pods have their TLS files (kubedb-api.md §3.4): the secrets are
// copied into the shared volume /tls/certs, one folder per certificate alias.
import type { TlsFilePaths } from '../types.ts';

export interface PostgresTlsPaths {
  /** The serving certificate; its ca.crt also verifies client certificates. */
  server: TlsFilePaths;
  /** The `client` alias: what a standby presents to the primary and trusts it with. */
  client: TlsFilePaths;
}

/** PGDATA in KubeDB's Postgres pods. */
export const KUBEDB_POSTGRES_DATA_DIR = '/var/pv/data';

export const KUBEDB_POSTGRES_TLS: PostgresTlsPaths = {
  server: { certFile: '/tls/certs/server/server.crt', keyFile: '/tls/certs/server/server.key', caFile: '/tls/certs/server/ca.crt' },
  client: { certFile: '/tls/certs/client/client.crt', keyFile: '/tls/certs/client/client.key', caFile: '/tls/certs/client/ca.crt' },
};

/** Paths under one local directory laid out like the pod's /tls/certs (for local instances and tests). */
export function postgresTlsPathsUnder(dir: string): PostgresTlsPaths {
  return {
    server: { certFile: `${dir}/server/server.crt`, keyFile: `${dir}/server/server.key`, caFile: `${dir}/server/ca.crt` },
    client: { certFile: `${dir}/client/client.crt`, keyFile: `${dir}/client/client.key`, caFile: `${dir}/client/ca.crt` },
  };
}
