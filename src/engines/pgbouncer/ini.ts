// pgbouncer.ini, userlist.txt and hba.conf for a KubeDB PgBouncer. Pure.
// Client side follows spec.sslMode with the guide's client_tls_* keys and paths; the server
// side (server_tls_*) follows the backend's sslMode. auth_type is `hba` so that the method per
// connection type comes from spec.connectionPool.authType and the admin can use the socket.
import { assertSafe, hbaLine, hbaMethod, sslModeValue } from '../shared/conf.ts';
import { tlsEnabled, tlsRequired, type Backend, type ClientAuthMode, type Listen, type RenderedConfig, type SslMode, type User } from '../types.ts';
import { TLS12_CIPHERS } from '../shared/tls-policy.ts';
import { KUBEDB_PGBOUNCER_PATHS, type PgBouncerPaths } from './paths.ts';

export interface PoolSettings {
  poolMode?: 'session' | 'transaction' | 'statement';
  maxClientConnections?: number;
  defaultPoolSize?: number;
  minPoolSize?: number;
  reservePoolSize?: number;
  reservePoolTimeoutSeconds?: number;
  maxDBConnections?: number;
  maxUserConnections?: number;
  statsPeriodSeconds?: number;
  ignoreStartupParameters?: string;
}

export interface PgBouncerConfigInput {
  listen: Listen;
  /** Client side: spec.sslMode. */
  sslMode: SslMode;
  /** spec.connectionPool.authType (scram-sha-256 → scram). */
  authType: ClientAuthMode;
  paths?: PgBouncerPaths;
  /** The Postgres behind PgBouncer; sslMode = how PgBouncer connects to it. */
  backend: Backend & {
    /** Database name clients use (spec.database.databaseName) and its name on the backend. */
    databaseName: string;
    backendDatabaseName?: string;
    /** Present the `client` alias cert to the backend (its cert auth). */
    clientCert?: boolean;
  };
  /** userlist.txt entries; cert-auth users need an entry too (with no password). */
  users: User[];
  adminUsers: string[];
  pool?: PoolSettings;
  clientCidrs?: string[];
}

export const PGBOUNCER_FILES = { ini: 'pgbouncer.ini', userlist: 'userlist.txt', hba: 'hba.conf' } as const;

const q = (v: string) => `"${v.replace(/"/g, '""')}"`;

export function renderUserlist(users: User[]): string {
  return users.map((u) => `${q(assertSafe('user name', u.name))} ${q(assertSafe('password', u.password ?? ''))}`).join('\n') + '\n';
}

export function renderPgBouncerHba(i: Pick<PgBouncerConfigInput, 'sslMode' | 'authType' | 'adminUsers' | 'clientCidrs'>): string {
  if (i.authType === 'cert' && !tlsEnabled(i.sslMode)) throw new Error('authType cert needs TLS (sslMode must not be disable)');
  const method = hbaMethod(i.authType);
  const lines = ['# Rendered by pgtls. TYPE DATABASE USER ADDRESS METHOD', `# sslMode=${sslModeValue(i.sslMode)} authType=${i.authType}`];
  // The operator reloads through the admin console on the socket, with a password even in cert mode.
  for (const a of i.adminUsers) lines.push(hbaLine('local', 'pgbouncer', a, null, 'scram-sha-256'));
  for (const cidr of i.clientCidrs ?? ['0.0.0.0/0', '::/0']) {
    if (!tlsEnabled(i.sslMode)) {
      lines.push(hbaLine('host', 'all', 'all', cidr, method));
      continue;
    }
    lines.push(hbaLine('hostssl', 'all', 'all', cidr, method));
    lines.push(hbaLine('hostnossl', 'all', 'all', cidr, tlsRequired(i.sslMode) || i.authType === 'cert' ? 'reject' : method));
  }
  return lines.join('\n') + '\n';
}

export function renderPgBouncerIni(i: PgBouncerConfigInput): string {
  const p = i.paths ?? KUBEDB_PGBOUNCER_PATHS;
  const pool = i.pool ?? {};
  const b = i.backend;
  const kv: [string, string | number | undefined][] = [
    ['listen_addr', i.listen.address],
    ['listen_port', i.listen.port],
    ['unix_socket_dir', i.listen.socketDir],
    ['auth_type', 'hba'],
    ['auth_hba_file', `${p.configDir}/${PGBOUNCER_FILES.hba}`],
    ['auth_file', `${p.configDir}/${PGBOUNCER_FILES.userlist}`],
    ['admin_users', i.adminUsers.join(',')],
    ['pool_mode', pool.poolMode ?? 'session'],
    ['max_client_conn', pool.maxClientConnections ?? 100],
    ['default_pool_size', pool.defaultPoolSize ?? 20],
    ['min_pool_size', pool.minPoolSize ?? 0],
    ['reserve_pool_size', pool.reservePoolSize ?? 0],
    ['reserve_pool_timeout', pool.reservePoolTimeoutSeconds ?? 5],
    ['max_db_connections', pool.maxDBConnections ?? 0],
    ['max_user_connections', pool.maxUserConnections ?? 0],
    ['stats_period', pool.statsPeriodSeconds ?? 60],
    ['ignore_startup_parameters', pool.ignoreStartupParameters || 'extra_float_digits'],
  ];
  if (tlsEnabled(i.sslMode)) {
    kv.push(
      ['client_tls_sslmode', sslModeValue(i.sslMode)],
      ['client_tls_ca_file', p.serving.caFile],
      ['client_tls_key_file', p.serving.keyFile],
      ['client_tls_cert_file', p.serving.certFile],
      // `secure` = TLS 1.2 and 1.3 (libusual's keyword).
      ['client_tls_protocols', 'secure'],
      ['client_tls_ciphers', TLS12_CIPHERS],
    );
  }
  // TLS off = no client_tls_* keys at all (what the remove guide checks); RELOAD resets a key
  // that vanished from the file to its default, so this turns TLS off without a restart (tested).
  if (tlsEnabled(sslModeValue(b.sslMode) as SslMode)) {
    // The backend is verified (CA and host name) whenever its link is TLS, whatever the backend allows clients.
    kv.push(['server_tls_sslmode', 'verify-full'], ['server_tls_ca_file', p.backend.caFile], ['server_tls_protocols', 'secure'], ['server_tls_ciphers', TLS12_CIPHERS]);
    if (b.clientCert) kv.push(['server_tls_cert_file', p.backend.certFile], ['server_tls_key_file', p.backend.keyFile]);
  }
  const db = `${assertSafe('databaseName', b.databaseName)} = host=${assertSafe('host', b.host)} port=${b.port} dbname=${assertSafe('dbname', b.backendDatabaseName ?? b.databaseName)}`;
  const body = kv
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${k} = ${assertSafe(k, String(v))}`)
    .join('\n');
  return `; Rendered by pgtls. All TLS keys here are reloadable (RELOAD / SIGHUP).\n[databases]\n${db}\n\n[pgbouncer]\n${body}\n`;
}

export function renderPgBouncerConfig(i: PgBouncerConfigInput): RenderedConfig {
  return {
    files: new Map([
      [PGBOUNCER_FILES.ini, renderPgBouncerIni(i)],
      [PGBOUNCER_FILES.userlist, renderUserlist(i.users)],
      [PGBOUNCER_FILES.hba, renderPgBouncerHba(i)],
    ]),
    secretFiles: new Set([PGBOUNCER_FILES.userlist]),
  };
}
