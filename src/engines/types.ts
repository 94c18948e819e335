// Engine-neutral inputs. The provisioner and ops-manager map KubeDB objects to these;
// the engines never see Kubernetes types.

/** KubeDB's sslMode enum. `disable` means the server serves no TLS. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
export const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** How clients authenticate: Postgres/Pgpool `clientAuthMode`, PgBouncer `connectionPool.authType` (scram-sha-256 → scram). */
export type ClientAuthMode = 'md5' | 'scram' | 'cert';

/** TLS is served unless the mode is `disable`. */
export function tlsEnabled(mode: SslMode): boolean {
  return mode !== 'disable';
}

/** Modes that reject clients without TLS. */
export function tlsRequired(mode: SslMode): boolean {
  return mode === 'require' || mode === 'verify-ca' || mode === 'verify-full';
}

/** The three files of a kubernetes.io/tls secret as a server reads them. */
export interface TlsFilePaths {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface Listen {
  /** Address to listen on; `*` for all. */
  address: string;
  port: number;
  /** Unix socket directory (keep `dir + "/.s.PGSQL.<port>"` under 108 bytes). */
  socketDir: string;
}

export interface User {
  name: string;
  /** Plain text; absent for cert-only users. Only ever written to 0600 files, never logged. */
  password?: string;
}

/** Where a client/pooler reaches a PostgreSQL server, and how it checks it. */
export interface Backend {
  host: string;
  port: number;
  /** How the pooler connects to the backend; `disable` = plain text. */
  sslMode: SslMode;
}

/** A description of the TLS-relevant state of one server, compared by `tlsApplyMode`. */
export interface TlsState {
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
  /** SHA-256 fingerprint of the served leaf (absent when TLS is off). */
  certFingerprint?: string;
  /** SHA-256 fingerprints of the CAs in the CA file, any order. */
  caFingerprints?: string[];
  /** Paths the server reads; a change of path is a config change. */
  paths?: TlsFilePaths;
  /** Pooler → backend side, when it exists. */
  backend?: { sslMode: SslMode; caFingerprints?: string[] };
  listen?: { address: string; port: number };
}

export type ApplyMode = 'none' | 'reload' | 'restart';

export interface ApplyDecision {
  mode: ApplyMode;
  /** Why: the first change that forced the mode, for conditions and logs. */
  reason: string;
}

/** Rendered files: path relative to the engine's config directory → content. */
export type RenderedFiles = Map<string, string>;

/** Files that hold secrets and must be 0600. */
export interface RenderedConfig {
  files: RenderedFiles;
  secretFiles: Set<string>;
}
