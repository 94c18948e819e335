// Helpers of the images integration test: is Debian's mirror reachable, and a private containerd
// (own root, state and socket under a temp dir; CRI off) to import an exported archive into.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';

/** undefined when the Debian mirror answers, else the reason (for the skip message). */
export function debianReachable(timeoutMs = 10_000): Promise<string | undefined> {
  const mirror = process.env.PGTLS_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
  return new Promise((resolve) => {
    const req = request(`${mirror}/dists/bookworm/Release`, { method: 'HEAD', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `${mirror} answered ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(`${mirror} is not reachable (${e.message}); images cannot be built`));
    req.end();
  });
}

export interface PrivateContainerd {
  ctr(args: string[]): SpawnSyncReturns<string>;
  stop(): Promise<void>;
}

/** Starts containerd on a socket in `dir`, or returns why it cannot. */
export async function startPrivateContainerd(dir: string): Promise<PrivateContainerd | string> {
  if (!existsSync('/usr/bin/containerd') || !existsSync('/usr/bin/ctr')) return 'containerd is not installed (apt-get install containerd)';
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'containerd.sock');
  writeFileSync(
    join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${sock}"`,
      '[ttrpc]',
      `  address = "${sock}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/bin/containerd', ['--config', join(dir, 'config.toml')], { stdio: 'ignore' });
  const ctr = (args: string[]) => spawnSync('/usr/bin/ctr', ['--address', sock, ...args], { encoding: 'utf8', timeout: 120_000 });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    }
  };
  for (let i = 0; i < 100; i++) {
    if (existsSync(sock) && ctr(['version']).status === 0) return { ctr, stop };
    if (child.exitCode !== null) return `containerd exited with ${child.exitCode}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  return 'containerd did not answer within 10 s';
}
