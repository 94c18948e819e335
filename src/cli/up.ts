import { homeLayout } from '../local/home.ts';
import { down, serverUrl, up } from '../local/controlplane/cluster.ts';
import { connectSupervisor } from '../local/controlplane/supervisor-client.ts';
import { parseRuntime } from '../local/kubelet/runtime.ts';

const say = (msg: string) => process.stderr.write(`pgtls: ${msg}\n`);

export async function upCommand(opts: { detach?: boolean; portBase?: number; timeout: number; runtime?: string }): Promise<void> {
  const layout = homeLayout();
  const runtime = opts.runtime === undefined ? undefined : parseRuntime(opts.runtime);
  const started = Date.now();
  let handle;
  try {
    handle = await up(layout, { portBase: opts.portBase, timeoutMs: opts.timeout * 1000, log: say, runtime });
  } catch (err) {
    if (!opts.detach) await down(layout, { log: say });
    throw err;
  }
  const withOperator = handle.components.some((c) => c.name === 'operator');
  say(`cluster${withOperator ? ' and operator' : ''} ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${serverUrl(handle.cfg)}`);
  process.stdout.write(
    `\nUse it with:\n  export KUBECONFIG=${layout.kubeconfig}\n  kubectl get nodes,namespaces\n  kubectl get postgresversions\n` +
      `State: ${layout.home}  (pgtls status | pgtls down [--purge])\n`,
  );
  if (opts.detach) return;

  say('running in the foreground; components that exit are restarted; Ctrl-C stops the operator and the cluster (data is kept)');
  const sup = await connectSupervisor(layout);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      sup?.close();
      say('stopping');
      void down(layout, { log: say }).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // The supervisor restarts what exits; here we only tell the user.
    const lost = () => {
      if (!stopping) say('the supervisor is gone: components that exit are no longer restarted (`pgtls up` starts it again)');
    };
    if (!sup) lost();
    else void sup.watch(say, lost).catch(lost);
  });
}
