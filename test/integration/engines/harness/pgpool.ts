// A Pgpool-II instance for engine tests. Spawned in its own process group: its main process
// forks children that outlive a SIGKILLed parent, so stop() signals the whole group.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { installFiles, configFileSpecs, tlsFileSpecs, type TlsMaterial, type InstallResult } from './process/files.ts';
import { renderPgpoolConfig, pgpoolPathsUnder, type PgpoolConfigInput, type PgpoolPaths } from '../../../../src/engines/pgpool/index.ts';
import { probeTls } from '../../../../src/engines/shared/probe.ts';
import type { ServerTarget } from './process/target.ts';
import { freePort, instanceDir, removeDir, serverUser, spawnServer, subdir, waitFor, type ServerProcess } from './process.ts';

export const PGPOOL_BIN = '/usr/sbin/pgpool';

export class PgpoolInstance {
  proc?: ServerProcess;
  readonly sock: string;
  readonly paths: PgpoolPaths;
  input!: PgpoolConfigInput;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly pcpPort: number,
  ) {
    this.sock = join(dir, 's');
    this.paths = pgpoolPathsUnder(dir);
  }

  static async create(make: (base: Pick<PgpoolConfigInput, 'listen' | 'pcp' | 'paths' | 'clientCidrs' | 'numInitChildren'>) => PgpoolConfigInput, tls?: TlsMaterial): Promise<PgpoolInstance> {
    const dir = instanceDir('pp');
    const inst = new PgpoolInstance(dir, await freePort(), await freePort());
    for (const d of ['s', 'etc', 'tls', 'run']) subdir(dir, d, d === 'tls' || d === 'etc' ? 0o755 : 0o700);
    if (tls) await inst.installTls(tls);
    await inst.writeConfig(
      make({
        listen: { address: '127.0.0.1', port: inst.port, socketDir: inst.sock },
        pcp: { port: inst.pcpPort },
        paths: inst.paths,
        clientCidrs: ['127.0.0.1/32'],
        numInitChildren: 4, // each child is a process; 4 is plenty for tests
      }),
    );
    await inst.start();
    return inst;
  }

  installTls(m: TlsMaterial): Promise<InstallResult> {
    return installFiles(tlsFileSpecs(this.paths.tls, m, serverUser()));
  }

  writeConfig(input: PgpoolConfigInput): Promise<InstallResult> {
    this.input = input;
    const r = renderPgpoolConfig(input);
    return installFiles(configFileSpecs(this.paths.configDir, r.files, r.secretFiles, serverUser()));
  }

  with(changes: Partial<PgpoolConfigInput>): PgpoolConfigInput {
    return { ...this.input, ...changes };
  }

  async start(): Promise<void> {
    const etc = this.paths.configDir;
    this.proc = spawnServer(
      PGPOOL_BIN,
      ['-n', '-D', '-f', join(etc, 'pgpool.conf'), '-F', join(etc, 'pcp.conf'), '-a', join(etc, 'pool_hba.conf')],
      { logFile: join(this.dir, 'pp.log'), cwd: this.dir },
    );
    await waitFor(
      `Pgpool on port ${this.port}`,
      async () => {
        if (this.proc!.exited()) throw new Error(`pgpool exited:\n${this.proc!.log().slice(-2000)}`);
        return (await probeTls(this.target(), { timeoutMs: 500 })).kind !== 'error';
      },
      20_000,
    );
  }

  /** The restart hook the engine gets: stop the group, wait, clear a stale pid file, start. */
  async restart(): Promise<void> {
    await this.proc?.stop('SIGINT', 10_000);
    rmSync(join(this.paths.runDir, 'pgpool.pid'), { force: true });
    await this.start();
  }

  target(): ServerTarget {
    return { host: '127.0.0.1', port: this.port, serverName: 'localhost', pid: this.proc?.pid };
  }

  async destroy(): Promise<void> {
    await this.proc?.stop('SIGINT');
    removeDir(this.dir);
  }
}
