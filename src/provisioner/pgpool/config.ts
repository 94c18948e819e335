// The files of a Pgpool config secret: pgpool.conf, pool_hba.conf, pool_passwd,
// pcp.conf (rendered by the engine) and ca.pem. Pgpool-II has one CA file
// (ssl_ca_cert) for both client-certificate checks and backend verification,
// so ca.pem is Pgpool's own CA followed by the backend's CA. Own CA first:
// the guides read ca.pem's first certificate to check the issuer.
import type { Pgpool } from '../../api/kubedb.com/v1alpha2/pgpool.ts';
import { KUBEDB_PGPOOL_PATHS, PGPOOL_FILES, renderPgpoolConfig, type PgpoolBackend } from '../../engines/pgpool/index.ts';
import { parsePgpoolTunables, type ParsedTunables } from '../../engines/pgpool/tunables.ts';
import type { ClientAuthMode, SslMode, User } from '../../engines/types.ts';
import type { PoolerBackend } from '../backend.ts';

export const PGPOOL_PORT = 9999;
export const PGPOOL_PCP_PORT = 9595;
export const PGPOOL_PCP_USER = 'pcp';
export const CA_PEM_KEY = 'ca.pem';
/** The key of spec.configuration (inline, or its secret) that holds the user's pgpool.conf settings. */
export const PGPOOL_CONF_KEY = 'pgpool.conf';

export interface PgpoolTlsView {
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
}

export function pgpoolTlsView(db: Pgpool): PgpoolTlsView {
  const sslMode = (db.spec.sslMode ?? (db.spec.tls ? 'verify-full' : 'disable')) as SslMode;
  return { sslMode, clientAuthMode: (db.spec.clientAuthMode ?? 'md5') as ClientAuthMode };
}

/** PEM blocks joined one per line, so concatenation never glues two certificates. */
export function caBundle(...pems: string[]): string {
  return pems
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `${p}\n`)
    .join('');
}

export interface PgpoolFilesInput {
  tls: PgpoolTlsView;
  backend: PoolerBackend;
  pcp: User;
  /** The CA(s) Pgpool trusts for client certificates (those that sign its `client` certificate); empty without TLS. */
  ownCaPem: string;
  /** The catalog's spec.version (4.3.5, 4.6.1): 4.4 renamed the socket settings. */
  serverVersion: string;
  /** spec.syncUsers: the backend's labelled user Secrets (backend.ts syncedUsers). */
  syncedUsers?: User[];
  /** spec.configuration's pgpool.conf, parsed. */
  tunables?: Pick<ParsedTunables, 'settings' | 'managed'>;
}

/** The user's pgpool.conf texts (the config secret's, then inline: inline wins, as KubeDB's). */
export function pgpoolUserConfig(texts: { source: string; text: string }[]): ParsedTunables {
  const all: ParsedTunables = { settings: [], managed: [], errors: [] };
  for (const t of texts) {
    const p = parsePgpoolTunables(t.text, t.source);
    all.settings.push(...p.settings);
    all.managed.push(...p.managed);
    all.errors.push(...p.errors);
  }
  return all;
}

/** KubeDB's backends: 0 the primary Service (ALWAYS_PRIMARY), 1 the standby Service, both load-balanced. */
export function pgpoolBackends(b: PoolerBackend): PgpoolBackend[] {
  const out: PgpoolBackend[] = [{ host: b.host, port: b.port }];
  if (b.standbyHost) out.push({ host: b.standbyHost, port: b.port });
  return out;
}

/** Which pgpool.conf names a Pgpool-II release reads. */
export function pgpoolConfigGeneration(serverVersion: string): '4.3' | '4.4+' {
  const [major, minor] = serverVersion.split('.').map((n) => Number.parseInt(n, 10));
  if (!Number.isFinite(major) || !Number.isFinite(minor)) throw new Error(`Pgpool version ${serverVersion}: expected major.minor[.patch]`);
  return major! > 4 || (major === 4 && minor! >= 4) ? '4.4+' : '4.3';
}

export function renderPgpoolFiles(i: PgpoolFilesInput): Record<string, string> {
  const r = renderPgpoolConfig({
    // The start-up script narrows '*' to the pod IP where pods share the host's network.
    listen: { address: '*', port: PGPOOL_PORT, socketDir: KUBEDB_PGPOOL_PATHS.runDir },
    pcp: { port: PGPOOL_PCP_PORT },
    sslMode: i.tls.sslMode,
    clientAuthMode: i.tls.clientAuthMode,
    paths: KUBEDB_PGPOOL_PATHS,
    clusteringMode: 'streaming_replication',
    backends: pgpoolBackends(i.backend),
    checkUser: i.backend.superuser,
    users: [...i.backend.users, ...(i.syncedUsers ?? [])],
    pcpUsers: [i.pcp],
    tunables: i.tunables?.settings,
    managed: i.tunables?.managed,
    version: pgpoolConfigGeneration(i.serverVersion),
  });
  const files: Record<string, string> = {};
  for (const k of Object.values(PGPOOL_FILES)) files[k] = r.files.get(k)!;
  files[CA_PEM_KEY] = i.tls.sslMode === 'disable' ? '' : caBundle(i.ownCaPem, i.backend.caPem);
  return files;
}
