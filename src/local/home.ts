// Where the local cluster keeps its state: one directory, the pgtls home.
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface HomeLayout {
  home: string;
  pki: string;
  data: string;
  logs: string;
  pids: string;
  kubeconfigs: string;
  /** The admin kubeconfig handed to users and tests. */
  kubeconfig: string;
  /** The saved cluster configuration (ports, versions), written on the first `up`. */
  clusterFile: string;
}

export function pgtlsHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGTLS_HOME && env.PGTLS_HOME !== '' ? env.PGTLS_HOME : join(homedir(), '.pgtls');
}

export function homeLayout(home = pgtlsHome()): HomeLayout {
  return {
    home,
    pki: join(home, 'pki'),
    data: join(home, 'data'),
    logs: join(home, 'logs'),
    pids: join(home, 'pids'),
    kubeconfigs: join(home, 'kubeconfigs'),
    kubeconfig: join(home, 'kubeconfig'),
    clusterFile: join(home, 'cluster.json'),
  };
}

/** The per-user binary cache that scripts/build-binaries.sh fills. */
export function binaryCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PGTLS_BIN_CACHE) return env.PGTLS_BIN_CACHE;
  const xdg = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(xdg, 'pgtls', 'bin');
}
