// postgresql.conf for a KubeDB Postgres: the listener, the TLS part and, for standbys,
// primary_conninfo with sslmode/sslrootcert. Pure: values in, file contents out.
import { assertSafe, confLines, conninfo, sslModeValue, type ConfValue } from '../shared/conf.ts';
import { tlsEnabled, type ClientAuthMode, type Listen, type RenderedConfig, type SslMode } from '../types.ts';
import { TLS12_CIPHERS, TLS_MIN_VERSION } from '../shared/tls-policy.ts';
import { renderPgHba } from './hba.ts';
import { renderPgIdent } from './ident.ts';
import { KUBEDB_POSTGRES_TLS, type PostgresTlsPaths } from './paths.ts';

export interface StandbyInput {
  primaryHost: string;
  primaryPort: number;
  /** Replication user. */
  user: string;
  applicationName?: string;
  /** A libpq passfile for the replication password, so no password lands in postgresql.conf. */
  passfile?: string;
}

export interface PostgresConfigInput {
  listen: Listen;
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
  /** Default: KubeDB's /tls/certs/{server,client}/... */
  tlsPaths?: PostgresTlsPaths;
  minTlsVersion?: 'TLSv1.2' | 'TLSv1.3';
  clientCidrs?: string[];
  /** Replication user; adds replication hba lines. */
  replicationUser?: string;
  /** Set on standbys: renders primary_conninfo and standby.signal. */
  standby?: StandbyInput;
  /**
   * This database's certificate marker (certs/policy.ts databaseMarker): cert
   * authentication then requires it in the client certificate's subject
   * (pg_hba `map=… clientname=DN`, pg_ident.conf).
   */
  certMarker?: string;
  /** More settings appended after ours (not TLS; ours are not overridable here). */
  settings?: Record<string, ConfValue>;
}

export const POSTGRES_FILES = { conf: 'postgresql.conf', hba: 'pg_hba.conf', ident: 'pg_ident.conf', standbySignal: 'standby.signal' } as const;

/** primary_conninfo for a standby: TLS follows the cluster's sslMode, trust comes from the client alias's ca.crt. */
export function primaryConninfo(i: PostgresConfigInput): string {
  const s = i.standby;
  if (!s) throw new Error('not a standby');
  const paths = i.tlsPaths ?? KUBEDB_POSTGRES_TLS;
  const tls = tlsEnabled(sslModeValue(i.sslMode) as SslMode);
  return conninfo([
    ['host', s.primaryHost],
    ['port', s.primaryPort],
    ['user', s.user],
    ['application_name', s.applicationName],
    ['passfile', s.passfile],
    // An internal link verifies its peer whenever TLS is on, whatever clients are allowed (issue 11 item 7).
    ['sslmode', tls ? 'verify-full' : 'disable'],
    ['sslrootcert', tls ? paths.client.caFile : undefined],
    ['sslcert', tls && i.clientAuthMode === 'cert' ? paths.client.certFile : undefined],
    ['sslkey', tls && i.clientAuthMode === 'cert' ? paths.client.keyFile : undefined],
  ]);
}

export function renderPostgresConf(i: PostgresConfigInput): string {
  const paths = i.tlsPaths ?? KUBEDB_POSTGRES_TLS;
  const tls = tlsEnabled(i.sslMode);
  const s: [string, ConfValue][] = [
    ['listen_addresses', i.listen.address],
    ['port', i.listen.port],
    ['unix_socket_directories', i.listen.socketDir],
    // md5 clients need md5 hashes; everything else gets scram.
    ['password_encryption', i.clientAuthMode === 'md5' ? 'md5' : 'scram-sha-256'],
    ['ssl', tls],
  ];
  if (tls) {
    // Absent when off, so a reload puts PostgreSQL's defaults back (the guide checks server.crt/server.key).
    s.push(
      ['ssl_cert_file', paths.server.certFile],
      ['ssl_key_file', paths.server.keyFile],
      ['ssl_ca_file', paths.server.caFile],
      ['ssl_min_protocol_version', i.minTlsVersion ?? TLS_MIN_VERSION],
      ['ssl_ciphers', TLS12_CIPHERS],
      ['ssl_prefer_server_ciphers', true],
    );
  }
  if (i.standby) s.push(['primary_conninfo', primaryConninfo(i)]);
  const ours = new Set(s.map(([k]) => k));
  for (const [k, v] of Object.entries(i.settings ?? {})) {
    if (ours.has(k)) throw new Error(`setting ${k} is managed by pgtls`);
    s.push([assertSafe('setting name', k), v]);
  }
  for (const [k, v] of s) if (typeof v === 'string') assertSafe(k, v);
  return `# Rendered by pgtls. TLS settings are all reloadable (context sighup).\n${confLines(s)}\n`;
}

export function renderPostgresConfig(i: PostgresConfigInput): RenderedConfig {
  const files = new Map<string, string>([
    [POSTGRES_FILES.conf, renderPostgresConf(i)],
    [
      POSTGRES_FILES.hba,
      renderPgHba({ sslMode: i.sslMode, clientAuthMode: i.clientAuthMode, clientCidrs: i.clientCidrs, replicationUser: i.replicationUser, certIdentMap: !!i.certMarker }),
    ],
  ]);
  if (i.certMarker) files.set(POSTGRES_FILES.ident, renderPgIdent(i.certMarker));
  if (i.standby) files.set(POSTGRES_FILES.standbySignal, '');
  return { files, secretFiles: new Set() };
}
