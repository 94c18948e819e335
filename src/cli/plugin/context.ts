// Which cluster and namespace a plugin command talks to, resolved as kubectl
// does (flags, then KUBECONFIG, then the context's namespace), except that
// without KUBECONFIG the local cluster's kubeconfig (the pgtls home's) comes
// before ~/.kube/config: the local cluster is what most users point it at.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Kube, statusCode } from '../../kube/client.ts';
import { k8s } from '../../kube/client-node.ts';
import { serverMessage } from '../../kube/api.ts';
import { homeLayout } from '../../local/home.ts';
import { PluginError } from './errors.ts';

export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface PluginContext {
  kube: Kube;
  kc: k8s.KubeConfig;
  namespace: string;
  /** The kubeconfig file(s) used, for child kubectl processes. */
  kubeconfigPath: string;
  contextName: string;
}

/** The kubeconfig path(s) to load, in kubectl's order plus the pgtls home. */
export function kubeconfigPath(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): string {
  if (flags.kubeconfig) return flags.kubeconfig;
  if (env.KUBECONFIG) return env.KUBECONFIG;
  const local = homeLayout().kubeconfig;
  if (existsSync(local)) return local;
  return join(homedir(), '.kube', 'config');
}

export function loadContext(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): PluginContext {
  const path = kubeconfigPath(flags, env);
  const files = path.split(':').filter(Boolean);
  const missing = files.filter((f) => !existsSync(f));
  if (files.length === 0 || missing.length === files.length) {
    throw new PluginError(`no kubeconfig at ${path} (set --kubeconfig or KUBECONFIG, or start the local cluster with \`pgtls up\`)`);
  }
  const kc = new k8s.KubeConfig();
  // KUBECONFIG may list several files, as for kubectl; the first one wins per key.
  if (files.length > 1) kc.loadFromDefault({}, false);
  else kc.loadFromFile(files[0]!);
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) throw new PluginError(`context "${flags.context}" is not in ${path}; contexts: ${kc.getContexts().map((c) => c.name).join(', ')}`);
    kc.setCurrentContext(flags.context);
  }
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return {
    kube: new Kube(kc),
    kc,
    namespace: flags.namespace ?? ctx?.namespace ?? 'default',
    kubeconfigPath: path,
    contextName: kc.getCurrentContext(),
  };
}

/** Arguments that make a child kubectl talk to the same cluster. */
export function kubectlArgs(ctx: PluginContext): string[] {
  return ['--kubeconfig', ctx.kubeconfigPath, '--context', ctx.contextName];
}

/** Turns API errors into messages that name the object and what is wrong. */
export function apiError(err: unknown, what: string): PluginError {
  const code = statusCode(err);
  // Kube wraps the server's error (its cause) with the call; the server's own message is the useful part.
  const msg = serverMessage((err as { cause?: unknown })?.cause ?? err);
  if (code === 404) return new PluginError(`${what} not found`);
  if (code === 401 || code === 403) return new PluginError(`${what}: not allowed (${msg})`);
  if (/ECONNREFUSED/.test(msg) || (err as { code?: string })?.code === 'ECONNREFUSED') return new PluginError(`${what}: the API server refused the connection (is the cluster up? \`pgtls status\`)`);
  return new PluginError(`${what}: ${msg}`);
}
