// The kubectl that matches the server: built from k8s.io/kubernetes/cmd/kubectl at
// the control plane's version by scripts/build-binaries.sh, cached beside it.
// `pgtls kubectl …` runs it with the local cluster's kubeconfig unless told
// otherwise; the plugin also uses it for port-forwards.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { binaryCache, homeLayout } from '../../local/home.ts';
import { loadVersions } from '../../local/controlplane/versions.ts';
import { PluginError } from './errors.ts';

export function pgtlsKubectlPath(): string {
  const v = loadVersions().kubernetes;
  return join(binaryCache(), `kubectl-${v}`, 'kubectl');
}

/** The matching kubectl if built, else the first `kubectl` on PATH (for port-forwards only). */
export function anyKubectl(): string {
  const own = pgtlsKubectlPath();
  if (existsSync(own)) return own;
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0) return 'kubectl';
  throw new PluginError(`no kubectl: ${own} is not built (node scripts/setup.mjs --only go:kubectl) and none is on PATH`);
}

/** KUBECONFIG for `pgtls kubectl`: the caller's, else the local cluster's when it exists. */
export function kubectlEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env.KUBECONFIG) return env;
  const local = homeLayout().kubeconfig;
  return existsSync(local) ? { ...env, KUBECONFIG: local } : env;
}

/** `pgtls kubectl <args>`: replaces nothing, exits with kubectl's code, forwards Ctrl-C. */
export async function kubectlCommand(args: string[]): Promise<void> {
  const bin = pgtlsKubectlPath();
  if (!existsSync(bin)) {
    throw new PluginError(`kubectl ${loadVersions().kubernetes} is not built yet at ${bin}; build it with: node scripts/setup.mjs --only go:kubectl`);
  }
  const child = spawn(bin, args, { stdio: 'inherit', env: kubectlEnv() });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`pgtls kubectl: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (c, sig) => resolve(c ?? (sig ? 128 + 2 : 1)));
  });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  process.exitCode = code;
}
