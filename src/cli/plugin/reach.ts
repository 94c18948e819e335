// How the plugin reaches a pod's or a Service's port from this machine. On the
// pgtls local cluster (its API server on loopback), directly: pods and Services
// have loopback mirrors on the host (localAddress). Anywhere else, or when a
// mirror is missing, through the API server with a port-forward run by kubectl:
// client-node's PortForward speaks only the websocket channel protocol, which
// some kubelets (the pgtls node agent among them) do not serve, while kubectl
// negotiates SPDY or websockets.
import { spawn, type ChildProcess } from 'node:child_process';
import { localAddress, NotReachableError } from '../../local/net/resolve.ts';
import { mirrorPlanForServer } from '../../local/net/addresses.ts';
import { kubectlArgs, type PluginContext } from './context.ts';
import { PluginError } from './errors.ts';
import { anyKubectl } from './kubectl.ts';

export type Via = 'auto' | 'local' | 'port-forward';

export interface Endpoint {
  host: string;
  port: number;
  via: 'local' | 'port-forward';
  close(): Promise<void>;
}

export interface ReachTarget {
  namespace: string;
  pod?: string;
  service?: string;
  port: number;
}

export function parseVia(v: string | undefined): Via {
  if (v === undefined || v === 'auto' || v === 'local' || v === 'port-forward') return v ?? 'auto';
  throw new PluginError(`--via ${v}: allowed values are auto, local, port-forward`, 2);
}

/** A pgtls local cluster: its API server listens on loopback, its pods have loopback mirrors. */
export function isLocalCluster(ctx: PluginContext): boolean {
  return mirrorPlanForServer(ctx.kc.getCurrentCluster()?.server ?? '') !== undefined;
}

export async function resolveVia(ctx: PluginContext, via: Via): Promise<'local' | 'port-forward'> {
  if (via !== 'auto') return via;
  return isLocalCluster(ctx) ? 'local' : 'port-forward';
}

export async function reach(ctx: PluginContext, t: ReachTarget, via: Via = 'auto'): Promise<Endpoint> {
  const how = await resolveVia(ctx, via);
  const what = t.pod ? `pod ${t.namespace}/${t.pod}` : `service ${t.namespace}/${t.service}`;
  if (how === 'local') {
    try {
      const a = await localAddress(ctx.kube, t);
      return { ...a, via: 'local', close: async () => {} };
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      // No mirror for it (a port not declared, a runtime without mirrors): the API server still reaches it.
      if (via === 'auto' && err instanceof NotReachableError) {
        return portForward(ctx, t, what).catch((pf: Error) => {
          throw new PluginError(`cannot reach ${what} port ${t.port}: ${why}; ${pf.message}`);
        });
      }
      throw new PluginError(`cannot reach ${what} port ${t.port}: ${why}`);
    }
  }
  return portForward(ctx, t, what);
}

const FORWARD_TIMEOUT_MS = 20_000;

async function portForward(ctx: PluginContext, t: ReachTarget, what: string): Promise<Endpoint> {
  const resource = t.pod ? `pod/${t.pod}` : `svc/${t.service}`;
  const child: ChildProcess = spawn(
    anyKubectl(),
    [...kubectlArgs(ctx), '-n', t.namespace, 'port-forward', resource, `:${t.port}`, '--address', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no forwarding after ${FORWARD_TIMEOUT_MS / 1000}s`)), FORWARD_TIMEOUT_MS);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`kubectl port-forward exited with ${code}: ${out.trim().split('\n').slice(-2).join(' ')}`));
      });
    });
    return { host: '127.0.0.1', port, via: 'port-forward', close };
  } catch (err) {
    await close();
    throw new PluginError(`cannot reach ${what} port ${t.port} through a port-forward: ${err instanceof Error ? err.message : String(err)}`);
  }
}
