// The pgpool.conf settings a user may give in spec.configuration (inline
// `pgpool.conf`, or the `pgpool.conf` key of spec.configuration.secretName), as
// KubeDB's guides do (`num_init_children=6`, `max_pool=65`, ...). Pool sizes,
// load balancing, checks and logging are the user's; listen addresses, backends,
// TLS, files and check users are pgtls's (they follow the spec and the backend).
// Pure: text in, settings or errors naming the key out.
import type { ConfValue } from '../shared/conf.ts';

/** Settings a user may set, with the kind of value each takes. */
export const PGPOOL_TUNABLES: Readonly<Record<string, 'int' | 'bool' | 'string'>> = {
  num_init_children: 'int',
  max_pool: 'int',
  reserved_connections: 'int',
  child_life_time: 'int',
  child_max_connections: 'int',
  connection_life_time: 'int',
  client_idle_limit: 'int',
  connection_cache: 'bool',
  load_balance_mode: 'bool',
  statement_level_load_balance: 'bool',
  disable_load_balance_on_write: 'string',
  read_only_function_list: 'string',
  write_function_list: 'string',
  primary_routing_query_pattern_list: 'string',
  database_redirect_preference_list: 'string',
  app_name_redirect_preference_list: 'string',
  allow_sql_comments: 'bool',
  ignore_leading_white_space: 'bool',
  sr_check_period: 'int',
  sr_check_database: 'string',
  delay_threshold: 'int',
  health_check_period: 'int',
  health_check_timeout: 'int',
  health_check_max_retries: 'int',
  health_check_retry_delay: 'int',
  health_check_database: 'string',
  connect_timeout: 'int',
  failover_on_backend_error: 'bool',
  memory_cache_enabled: 'bool',
  log_statement: 'bool',
  log_per_node_statement: 'bool',
  log_connections: 'bool',
  log_disconnections: 'bool',
  log_hostname: 'bool',
  log_client_messages: 'bool',
  log_min_messages: 'string',
  log_error_verbosity: 'string',
};

/**
 * Keys pgtls sets itself. A user value equal to pgtls's own is accepted (the
 * guides' examples repeat `backend_clustering_mode='streaming_replication'`),
 * any other is refused.
 */
export const PGPOOL_MANAGED = new Set([
  'backend_clustering_mode',
  'listen_addresses',
  'port',
  'socket_dir',
  'unix_socket_directories',
  'pcp_listen_addresses',
  'pcp_port',
  'pcp_socket_dir',
  'pcp_unix_socket_directories',
  'enable_pool_hba',
  'pool_passwd',
  'allow_clear_text_frontend_auth',
  'ssl',
  'ssl_ca_cert',
  'ssl_key',
  'ssl_cert',
  'ssl_ciphers',
  'sr_check_user',
  'sr_check_password',
  'health_check_user',
  'health_check_password',
  'pid_file_name',
  'logdir',
  'use_watchdog',
  'memqcache_oiddir',
]);

const BACKEND_KEY = /^backend_(hostname|port|weight|flag|data_directory|application_name)\d+$/;

export interface ParsedTunables {
  settings: [string, ConfValue][];
  /** Managed keys the user repeated: checked against pgtls's values by the renderer. */
  managed: [string, string][];
  errors: string[];
}

const BOOL_ON = new Set(['on', 'true', 'yes', '1']);
const BOOL_OFF = new Set(['off', 'false', 'no', '0']);

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && t.startsWith("'") && t.endsWith("'") ? t.slice(1, -1).replace(/''/g, "'") : t;
}

/** Parses `key = value` / `key=value` lines (comments with #, values quoted or bare). */
export function parsePgpoolTunables(text: string, source: string): ParsedTunables {
  const out: ParsedTunables = { settings: [], managed: [], errors: [] };
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const m = /^([a-z_][a-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      out.errors.push(`${source} line ${n + 1}: expected "key = value", got ${JSON.stringify(raw.trim())}`);
      continue;
    }
    const key = m[1]!;
    const value = unquote(m[2]!);
    if (/[\n\r\0]/.test(value)) {
      out.errors.push(`${source}: ${key} contains a newline or NUL`);
      continue;
    }
    if (PGPOOL_MANAGED.has(key) || BACKEND_KEY.test(key)) {
      out.managed.push([key, value]);
      continue;
    }
    const kind = PGPOOL_TUNABLES[key];
    if (!kind) {
      out.errors.push(`${source}: "${key}" is not a setting pgtls applies; supported: ${Object.keys(PGPOOL_TUNABLES).join(', ')}`);
      continue;
    }
    if (kind === 'int') {
      if (!/^\d+$/.test(value)) out.errors.push(`${source}: ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
      else out.settings.push([key, Number(value)]);
    } else if (kind === 'bool') {
      const v = value.toLowerCase();
      if (BOOL_ON.has(v)) out.settings.push([key, true]);
      else if (BOOL_OFF.has(v)) out.settings.push([key, false]);
      else out.errors.push(`${source}: ${key} must be on or off, got ${JSON.stringify(value)}`);
    } else {
      out.settings.push([key, value]);
    }
  }
  for (const k of ['num_init_children', 'max_pool']) {
    const v = out.settings.find(([key]) => key === k)?.[1];
    if (v === 0) out.errors.push(`${source}: ${k} must be at least 1`);
  }
  return out;
}
