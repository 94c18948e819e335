// The files of a Postgres config secret: postgresql.conf for the primary and
// for standbys, pg_hba.conf, and the replication passfile. Rendering is the
// engine's; this maps the KubeDB object onto the engine's input.
import { KUBEDB_POSTGRES_DATA_DIR, KUBEDB_POSTGRES_TLS, renderPostgresConfig, type PostgresConfigInput, type PostgresTlsPaths } from '../../engines/postgres/index.ts';
import { tlsEnabled, type ClientAuthMode, type SslMode } from '../../engines/types.ts';
import { governingServiceName } from '../specs/services.ts';
import { databaseMarker } from '../../certs/policy.ts';

export const PG_PORT = 5432;
export const CONFIG_DIR = '/etc/config';
export const DATA_DIR = KUBEDB_POSTGRES_DATA_DIR;
export const SOCKET_DIR = '/var/run/postgresql';
/**
 * The replication passfile as libpq reads it: a 0600 copy the container makes
 * of the config secret's `pgpass` (mounted root:<fsGroup> 0640, which libpq ignores).
 */
export const PASSFILE = `${SOCKET_DIR}/pgpass`;

export interface PostgresTlsView {
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
  /** Its client certificates come from a CA of its own (specs/client-ca.ts). */
  ownClientCa?: boolean;
}

/**
 * KubeDB's files, with the two CA files' roles swapped when the database has a
 * client CA of its own: ssl_ca_file (who may log in by certificate) is the
 * client certificate's CA (/tls/certs/client/ca.crt), and a standby verifies
 * the primary with the server certificate's CA (/tls/certs/server/ca.crt).
 * With one issuer for every alias the two files hold the same CA, which is why
 * KubeDB can use them the other way round.
 */
export function postgresTlsPaths(ownClientCa: boolean): PostgresTlsPaths {
  const p = KUBEDB_POSTGRES_TLS;
  return ownClientCa ? { server: { ...p.server, caFile: p.client.caFile }, client: { ...p.client, caFile: p.server.caFile } } : p;
}

/**
 * How a standby connects to the primary (pg_basebackup and the walreceiver):
 * whenever the cluster serves TLS, verify-full against the client alias's CA
 * and the primary's pod name, whatever sslMode clients were given; a standby
 * must never stream from a server it has not authenticated.
 */
export function standbyLinkMode(sslMode: SslMode): SslMode {
  return tlsEnabled(sslMode) ? 'verify-full' : 'disable';
}

export function renderPostgresFiles(db: { name: string; namespace: string }, tls: PostgresTlsView, password: string): Record<string, string> {
  const base: PostgresConfigInput = {
    // Every address of the pod; the container narrows it to the pod IP only where pods share the host's network.
    listen: { address: '*', port: PG_PORT, socketDir: SOCKET_DIR },
    sslMode: tls.sslMode,
    clientAuthMode: tls.clientAuthMode,
    tlsPaths: postgresTlsPaths(!!tls.ownClientCa),
    replicationUser: 'postgres',
    // Certificates log in only with this database's marker in their subject (certs/policy.ts).
    certMarker: databaseMarker(db.namespace, db.name),
    // ident_file is read at start only, so it is always set; its contents reload.
    settings: { hba_file: `${CONFIG_DIR}/pg_hba.conf`, ident_file: `${CONFIG_DIR}/pg_ident.conf`, wal_level: 'replica', max_wal_senders: 10, hot_standby: 'on' },
  };
  const primary = renderPostgresConfig(base);
  const standby = renderPostgresConfig({
    ...base,
    standby: {
      primaryHost: `${db.name}-0.${governingServiceName(db.name)}.${db.namespace}.svc`,
      primaryPort: PG_PORT,
      user: 'postgres',
      passfile: PASSFILE,
      sslMode: standbyLinkMode(tls.sslMode),
    },
  });
  return {
    'primary.conf': primary.files.get('postgresql.conf')!,
    'standby.conf': standby.files.get('postgresql.conf')!,
    'pg_hba.conf': primary.files.get('pg_hba.conf')!,
    'pg_ident.conf': primary.files.get('pg_ident.conf')!,
    // libpq passfile for replication: host:port:db:user:password.
    sslmode: `${standbyLinkMode(tls.sslMode)}\n`,
    pgpass: `*:*:*:postgres:${password.replace(/([:\\])/g, '\\$1')}\n`,
  };
}
