// A PgBouncer instance for engine tests, configured only through the engine's renderer.
import { join } from 'node:path';
import pg from 'pg';
import { installFiles, configFileSpecs, tlsFileSpecs, type TlsMaterial, type InstallResult, type FileSpec } from './process/files.ts';
import { renderPgBouncerConfig, pgbouncerPathsUnder, type PgBouncerConfigInput, type PgBouncerPaths } from '../../../../src/engines/pgbouncer/index.ts';
import type { ServerTarget } from './process/target.ts';
import { freePort, instanceDir, removeDir, serverUser, spawnServer, subdir, waitFor, type ServerProcess } from './process.ts';

export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';
export const ADMIN = { name: 'pgbadmin', password: 'admin-pw-not-logged' };

export class PgBouncerInstance {
  proc?: ServerProcess;
  readonly sock: string;
  readonly paths: PgBouncerPaths;
  input!: PgBouncerConfigInput;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.sock = join(dir, 's');
    this.paths = pgbouncerPathsUnder(dir);
  }

  static async create(make: (base: Pick<PgBouncerConfigInput, 'listen' | 'paths' | 'adminUsers' | 'clientCidrs'>) => PgBouncerConfigInput, tls: { serving?: TlsMaterial; backendCa?: string }): Promise<PgBouncerInstance> {
    const dir = instanceDir('pgb');
    const inst = new PgBouncerInstance(dir, await freePort());
    for (const d of ['s', 'etc', 'tls', 'tls/server', 'tls/client', 'tls/backend']) subdir(dir, d, d === 's' ? 0o700 : 0o755);
    if (tls.serving) await inst.installServing(tls.serving);
    if (tls.backendCa) await inst.installBackendCa(tls.backendCa);
    await inst.writeConfig(
      make({ listen: { address: '127.0.0.1', port: inst.port, socketDir: inst.sock }, paths: inst.paths, adminUsers: [ADMIN.name], clientCidrs: ['127.0.0.1/32'] }),
    );
    await inst.start();
    return inst;
  }

  installServing(m: TlsMaterial): Promise<InstallResult> {
    return installFiles(tlsFileSpecs(this.paths.serving, m, serverUser()));
  }

  installBackendCa(caPem: string): Promise<InstallResult> {
    const spec: FileSpec = { path: this.paths.backend.caFile, content: caPem, mode: 0o644, ...serverUser() };
    return installFiles([spec]);
  }

  writeConfig(input: PgBouncerConfigInput): Promise<InstallResult> {
    this.input = input;
    const r = renderPgBouncerConfig(input);
    return installFiles(configFileSpecs(this.paths.configDir, r.files, r.secretFiles, serverUser()));
  }

  with(changes: Partial<PgBouncerConfigInput>): PgBouncerConfigInput {
    return { ...this.input, ...changes };
  }

  async start(): Promise<void> {
    this.proc = spawnServer(PGBOUNCER_BIN, [join(this.paths.configDir, 'pgbouncer.ini')], { logFile: join(this.dir, 'pgb.log'), cwd: this.dir });
    await waitFor(`PgBouncer on port ${this.port}`, async () => {
      if (this.proc!.exited()) throw new Error(`pgbouncer exited:\n${this.proc!.log().slice(-2000)}`);
      return this.admin('SHOW VERSION').then(() => true);
    });
  }

  target(): ServerTarget {
    return {
      host: '127.0.0.1',
      port: this.port,
      serverName: 'localhost',
      pid: this.proc?.pid,
      sql: { host: this.sock, port: this.port, user: ADMIN.name, password: ADMIN.password, database: 'pgbouncer' },
    };
  }

  async admin(sql: string): Promise<pg.QueryResultRow[]> {
    const c = new pg.Client({ host: this.sock, port: this.port, user: ADMIN.name, password: ADMIN.password, database: 'pgbouncer', connectionTimeoutMillis: 3000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  }

  async destroy(): Promise<void> {
    // SIGTERM: immediate; SIGINT would wait for every client to leave.
    await this.proc?.stop('SIGTERM');
    removeDir(this.dir);
  }
}
