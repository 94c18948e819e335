// pgpool.conf, pool_hba.conf, pool_passwd and pcp.conf for a KubeDB Pgpool (raw mode, the
// backends given). Pure. Settings follow the working config measured on Pgpool-II 4.3.5.
import { createHash } from 'node:crypto';
import { assertSafe, confLines, hbaLine, hbaMethod, type ConfValue } from '../shared/conf.ts';
import { tlsEnabled, tlsRequired, type ClientAuthMode, type Listen, type RenderedConfig, type SslMode, type User } from '../types.ts';
import { TLS12_CIPHERS } from '../shared/tls-policy.ts';
import { KUBEDB_PGPOOL_PATHS, type PgpoolPaths } from './paths.ts';

export interface PgpoolBackend {
  /** A TCP host: with a socket path the backend link could never be TLS. */
  host: string;
  port: number;
  weight?: number;
}

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
  /** 4.4 renamed socket_dir to unix_socket_directories (and pcp_socket_dir likewise). Default 4.3. */
  version?: '4.3' | '4.4+';
}

export const PGPOOL_FILES = { conf: 'pgpool.conf', hba: 'pool_hba.conf', passwd: 'pool_passwd', pcp: 'pcp.conf' } as const;

export function renderPoolHba(i: Pick<PgpoolConfigInput, 'sslMode' | 'clientAuthMode' | 'clientCidrs'>): string {
  if (i.clientAuthMode === 'cert' && !tlsEnabled(i.sslMode)) throw new Error('clientAuthMode cert needs TLS (sslMode must not be disable)');
  const method = hbaMethod(i.clientAuthMode);
  const lines = ['# Rendered by pgtls. TYPE DATABASE USER ADDRESS METHOD', `# sslMode=${i.sslMode} clientAuthMode=${i.clientAuthMode}`];
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

export function renderPgpoolConf(i: PgpoolConfigInput): string {
  const p = i.paths ?? KUBEDB_PGPOOL_PATHS;
  const newNames = i.version === '4.4+';
  const tls = tlsEnabled(i.sslMode);
  const s: [string, ConfValue][] = [
    ['backend_clustering_mode', 'raw'],
    ['listen_addresses', i.listen.address],
    ['port', i.listen.port],
    [newNames ? 'unix_socket_directories' : 'socket_dir', i.listen.socketDir],
    ['pcp_listen_addresses', i.pcp.address ?? i.listen.address],
    ['pcp_port', i.pcp.port],
    [newNames ? 'pcp_unix_socket_directories' : 'pcp_socket_dir', i.listen.socketDir],
  ];
  i.backends.forEach((b, n) => {
    s.push(
      [`backend_hostname${n}`, b.host],
      [`backend_port${n}`, b.port],
      [`backend_weight${n}`, b.weight ?? 1],
      [`backend_flag${n}`, 'DISALLOW_TO_FAILOVER'],
    );
  });
  s.push(
    ['enable_pool_hba', true],
    ['pool_passwd', PGPOOL_FILES.passwd],
    ['allow_clear_text_frontend_auth', false],
  );
  // The guide's pre-check shows ssl = 'off' and its add-TLS check shows ssl = on: render both alike.
  if (tls) {
    s.push(['ssl', true], ['ssl_ca_cert', p.tls.caFile], ['ssl_key', p.tls.keyFile], ['ssl_cert', p.tls.certFile], ['ssl_ciphers', TLS12_CIPHERS], ['ssl_prefer_server_ciphers', true]);
  } else {
    s.push(['ssl', 'off']);
  }
  s.push(
    ['num_init_children', i.numInitChildren ?? 8],
    ['max_pool', i.maxPool ?? 2],
    ['child_life_time', 0],
    ['load_balance_mode', false],
    ['pid_file_name', `${p.runDir}/pgpool.pid`],
    ['logdir', p.runDir],
    ['health_check_period', 0],
    ['sr_check_period', 0],
    ['failover_on_backend_error', false],
    ['use_watchdog', false],
    // Set even with the watchdog off, so nothing lands in /tmp.
    ['wd_ipc_socket_dir', i.listen.socketDir],
    ['log_destination', 'stderr'],
    ['log_connections', true],
  );
  for (const [k, v] of s) if (typeof v === 'string') assertSafe(k, v);
  return `# Rendered by pgtls. Pgpool-II 4.3 reads ssl* only at start: a TLS change needs a restart.\n${confLines(s)}\n`;
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
