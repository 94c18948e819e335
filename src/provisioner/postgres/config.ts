// The files of a Postgres config secret: postgresql.conf for the primary and
// for standbys, pg_hba.conf, and the replication passfile. Rendering is the
// engine's; this maps the KubeDB object onto the engine's input.
import { KUBEDB_POSTGRES_DATA_DIR, renderPostgresConfig, type PostgresConfigInput } from '../../engines/postgres/index.ts';
import type { ClientAuthMode, SslMode } from '../../engines/types.ts';
import { governingServiceName } from '../specs/services.ts';
import { databaseMarker } from '../../certs/policy.ts';

export const PG_PORT = 5432;
export const CONFIG_DIR = '/etc/config';
export const DATA_DIR = KUBEDB_POSTGRES_DATA_DIR;
export const SOCKET_DIR = '/var/run/postgresql';

export interface PostgresTlsView {
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
}

export function renderPostgresFiles(db: { name: string; namespace: string }, tls: PostgresTlsView, password: string): Record<string, string> {
  const base: PostgresConfigInput = {
    // The container overrides listen_addresses with its pod IP on the command line.
    listen: { address: '*', port: PG_PORT, socketDir: SOCKET_DIR },
    sslMode: tls.sslMode,
    clientAuthMode: tls.clientAuthMode,
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
      passfile: `${CONFIG_DIR}/pgpass`,
    },
  });
  return {
    'primary.conf': primary.files.get('postgresql.conf')!,
    'standby.conf': standby.files.get('postgresql.conf')!,
    'pg_hba.conf': primary.files.get('pg_hba.conf')!,
    'pg_ident.conf': primary.files.get('pg_ident.conf')!,
    // libpq passfile for replication: host:port:db:user:password.
    sslmode: `${tls.sslMode}\n`,
    pgpass: `*:*:*:postgres:${password.replace(/([:\\])/g, '\\$1')}\n`,
  };
}
