// pgpool.conf, pool_hba.conf, pool_passwd and pcp.conf for a KubeDB Pgpool. Pure.
// KubeDB's configuration: streaming-replication mode, backend 0 the primary
// Service (ALWAYS_PRIMARY), backend 1 the standby Service, reads load-balanced,
// KubeDB's pool sizes and check periods unless spec.configuration says
// otherwise. Raw mode (one backend, no balancing) remains for engine tests.
import { createHash } from 'node:crypto';
import { assertSafe, confLines, hbaLine, hbaMethod, sslModeValue, type ConfValue } from '../shared/conf.ts';
import { tlsEnabled, tlsRequired, type ClientAuthMode, type Listen, type RenderedConfig, type SslMode, type User } from '../types.ts';
import { TLS12_CIPHERS } from '../shared/tls-policy.ts';
import { KUBEDB_PGPOOL_PATHS, type PgpoolPaths } from './paths.ts';

export interface PgpoolBackend {
  /** A TCP host: with a socket path the backend link could never be TLS. */
  host: string;
  port: number;
  weight?: number;
  /** Default as KubeDB: backend 0 'ALWAYS_PRIMARY|DISALLOW_TO_FAILOVER', the others 'DISALLOW_TO_FAILOVER'. */
  flag?: string;
  /** A standby's application_name: lets the replication check report its replication_state. */
  applicationName?: string;
}

export type PgpoolClusteringMode = 'streaming_replication' | 'raw';

export interface PgpoolConfigInput {
  listen: Listen;
  pcp: { port: number; address?: string };
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
  paths?: PgpoolPaths;
  backends: PgpoolBackend[];
  /** pool_passwd: Pgpool logs in to the backend with these, so every user needs one (even cert users). */
  users: User[];
  /** pcp.conf users (spec.authSecret). */
  pcpUsers: User[];
  /** = maximum concurrent client sessions. */
  numInitChildren?: number;
  maxPool?: number;
  clientCidrs?: string[];
  /** Default streaming_replication (KubeDB's): backend 0 is the primary, reads go to every backend. */
  clusteringMode?: PgpoolClusteringMode;
  /** sr_check_user and health_check_user (the backend's superuser); the password is looked up in pool_passwd. */
  checkUser?: string;
  /** The user's settings (spec.configuration, parsed by tunables.ts): over the defaults. */
  tunables?: [string, ConfValue][];
  /** Managed keys the user repeated: each must equal what is rendered. */
  managed?: [string, string][];
  /** 4.4 renamed socket_dir to unix_socket_directories (and pcp_socket_dir likewise). Default 4.3. */
  version?: '4.3' | '4.4+';
}

export const PGPOOL_FILES = { conf: 'pgpool.conf', hba: 'pool_hba.conf', passwd: 'pool_passwd', pcp: 'pcp.conf' } as const;

export function renderPoolHba(i: Pick<PgpoolConfigInput, 'sslMode' | 'clientAuthMode' | 'clientCidrs'>): string {
  if (i.clientAuthMode === 'cert' && !tlsEnabled(i.sslMode)) throw new Error('clientAuthMode cert needs TLS (sslMode must not be disable)');
  const method = hbaMethod(i.clientAuthMode);
  const lines = ['# Rendered by pgtls. TYPE DATABASE USER ADDRESS METHOD', `# sslMode=${sslModeValue(i.sslMode)} clientAuthMode=${i.clientAuthMode}`];
  lines.push(hbaLine('local', 'all', 'all', null, 'trust'));
  for (const cidr of i.clientCidrs ?? ['0.0.0.0/0', '::/0']) {
    if (!tlsEnabled(i.sslMode)) {
      lines.push(hbaLine('host', 'all', 'all', cidr, method));
      continue;
    }
    lines.push(hbaLine('hostssl', 'all', 'all', cidr, method));
    lines.push(hbaLine('hostnossl', 'all', 'all', cidr, tlsRequired(i.sslMode) || i.clientAuthMode === 'cert' ? 'reject' : method));
  }
  return lines.join('\n') + '\n';
}

/** `user:TEXTpassword`: plain text, so Pgpool can do SCRAM with the backend (AES needs a key file, md5 can't do SCRAM). */
export function renderPoolPasswd(users: User[]): string {
  return users.map((u) => `${assertSafe('user', u.name)}:TEXT${assertSafe('password', u.password ?? '')}`).join('\n') + '\n';
}

/** `user:md5(password)`, as pg_md5 prints it. */
export function renderPcpConf(users: User[]): string {
  return users.map((u) => `${assertSafe('user', u.name)}:${createHash('md5').update(u.password ?? '').digest('hex')}`).join('\n') + '\n';
}

/** Where the ssl lines go among the defaults. */
const SSL_BLOCK = '(ssl)';

/** KubeDB's defaults (its guides' pgpool.conf), in its order, before the user's settings. */
const KUBEDB_DEFAULTS: [string, ConfValue][] = [
  ['log_per_node_statement', true],
  ['sr_check_period', 0],
  ['health_check_period', 0],
  ['backend_clustering_mode', 'streaming_replication'],
  ['num_init_children', 5],
  ['max_pool', 15],
  ['child_life_time', 300],
  ['child_max_connections', 0],
  ['connection_life_time', 0],
  ['client_idle_limit', 0],
  ['connection_cache', true],
  ['load_balance_mode', true],
  [SSL_BLOCK, ''],
  ['failover_on_backend_error', 'off'],
  ['log_min_messages', 'warning'],
  ['statement_level_load_balance', 'off'],
  ['memory_cache_enabled', 'off'],
];

const confText = (v: ConfValue) => (typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v)).toLowerCase();

export function renderPgpoolConf(i: PgpoolConfigInput): string {
  const p = i.paths ?? KUBEDB_PGPOOL_PATHS;
  const newNames = i.version === '4.4+';
  const tls = tlsEnabled(i.sslMode);
  const mode = i.clusteringMode ?? 'streaming_replication';
  if (mode === 'raw' && i.backends.length !== 1) throw new Error(`raw mode takes one backend, got ${i.backends.length}`);
  const s: [string, ConfValue][] = [];
  i.backends.forEach((b, n) => {
    const flag = b.flag ?? (mode === 'streaming_replication' && n === 0 ? 'ALWAYS_PRIMARY|DISALLOW_TO_FAILOVER' : 'DISALLOW_TO_FAILOVER');
    s.push([`backend_hostname${n}`, b.host], [`backend_port${n}`, b.port], [`backend_weight${n}`, b.weight ?? 1], [`backend_flag${n}`, flag]);
    if (b.applicationName) s.push([`backend_application_name${n}`, b.applicationName]);
  });
  s.push(
    ['enable_pool_hba', true],
    ['listen_addresses', i.listen.address],
    ['port', i.listen.port],
    [newNames ? 'unix_socket_directories' : 'socket_dir', i.listen.socketDir],
    ['pcp_listen_addresses', i.pcp.address ?? i.listen.address],
    ['pcp_port', i.pcp.port],
    [newNames ? 'pcp_unix_socket_directories' : 'pcp_socket_dir', i.listen.socketDir],
  );
  // Defaults, then the caller's sizes, then the user's settings: one line per key, in KubeDB's order.
  const tuned = new Map<string, ConfValue>(KUBEDB_DEFAULTS);
  tuned.set('backend_clustering_mode', mode);
  if (mode === 'raw') tuned.set('load_balance_mode', false);
  if (i.numInitChildren !== undefined) tuned.set('num_init_children', i.numInitChildren);
  if (i.maxPool !== undefined) tuned.set('max_pool', i.maxPool);
  for (const [k, v] of i.tunables ?? []) tuned.set(k, v);
  for (const [k, v] of tuned) {
    if (k !== SSL_BLOCK) s.push([k, v]);
    // The guide's pre-check shows ssl = 'off' and its add-TLS check shows ssl = on: render both alike.
    else if (tls) s.push(['ssl', true], ['ssl_ca_cert', p.tls.caFile], ['ssl_key', p.tls.keyFile], ['ssl_cert', p.tls.certFile], ['ssl_ciphers', TLS12_CIPHERS], ['ssl_prefer_server_ciphers', true]);
    else s.push(['ssl', 'off']);
  }
  s.push(['allow_clear_text_frontend_auth', 'false'], ['pool_passwd', PGPOOL_FILES.passwd]);
  if (i.checkUser) {
    // An empty password makes Pgpool look the user up in pool_passwd: no password in pgpool.conf.
    s.push(['sr_check_user', i.checkUser], ['sr_check_password', ''], ['health_check_user', i.checkUser], ['health_check_password', '']);
  }
  s.push(
    ['pid_file_name', `${p.runDir}/pgpool.pid`],
    ['logdir', p.runDir],
    ['memqcache_oiddir', `${p.runDir}/oiddir`],
    ['use_watchdog', false],
    // Set even with the watchdog off, so nothing lands in /tmp.
    ['wd_ipc_socket_dir', i.listen.socketDir],
    ['log_destination', 'stderr'],
    ['log_connections', tuned.get('log_connections') ?? true],
  );
  for (const [k, v] of s) if (typeof v === 'string') assertSafe(k, v);
  for (const [k, v] of i.managed ?? []) {
    const mine = s.find(([key]) => key === k);
    if (!mine || confText(mine[1]) !== v.toLowerCase()) {
      throw new Error(`pgpool.conf "${k}" is set by pgtls${mine ? ` (to ${JSON.stringify(confText(mine[1]))})` : ''}; remove it from spec.configuration`);
    }
  }
  // A key given twice (log_connections among the tunables) keeps its last value in Pgpool; render it once.
  const seen = new Set<string>();
  const lines = s.reverse().filter(([k]) => (seen.has(k) ? false : (seen.add(k), true))).reverse();
  return `# Rendered by pgtls. Pgpool-II 4.3 reads ssl* only at start: a TLS change needs a restart.\n${confLines(lines)}\n`;
}

export function renderPgpoolConfig(i: PgpoolConfigInput): RenderedConfig {
  if (i.backends.length === 0) throw new Error('Pgpool needs at least one backend');
  return {
    files: new Map([
      [PGPOOL_FILES.conf, renderPgpoolConf(i)],
      [PGPOOL_FILES.hba, renderPoolHba(i)],
      [PGPOOL_FILES.passwd, renderPoolPasswd(i.users)],
      [PGPOOL_FILES.pcp, renderPcpConf(i.pcpUsers)],
    ]),
    secretFiles: new Set([PGPOOL_FILES.passwd, PGPOOL_FILES.pcp]),
  };
}
