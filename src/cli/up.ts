import { homeLayout } from '../local/home.ts';
import { down, serverUrl, up } from '../local/controlplane/cluster.ts';
import { connectSupervisor } from '../local/controlplane/supervisor-client.ts';
import { parseRuntime } from '../local/kubelet/runtime.ts';
import { Kube } from '../kube/client.ts';

const say = (msg: string) => process.stderr.write(`pgtls: ${msg}\n`);

export type OperatorMode = 'process' | 'chart' | 'none';

export async function upCommand(opts: { detach?: boolean; portBase?: number; timeout: number; runtime?: string; operator?: OperatorMode }): Promise<void> {
  const layout = homeLayout();
  const runtime = opts.runtime === undefined ? undefined : parseRuntime(opts.runtime);
  const started = Date.now();
  const mode = opts.operator ?? 'chart';
  let handle;
  try {
    handle = await up(layout, { portBase: opts.portBase, timeoutMs: opts.timeout * 1000, log: say, runtime, operator: mode === 'process' });
    if (mode === 'chart') {
      // The operator as a Deployment on the local node, installed with the Helm chart.
      const { installOperatorChart, helmStateDir, loadOperatorImage } = await import('../install/local-chart.ts');
      await loadOperatorImage(layout, handle.cfg, say);
      await installOperatorChart(Kube.fromFile(layout.kubeconfig), { kubeconfig: layout.kubeconfig, stateDir: helmStateDir(layout.home), timeoutMs: opts.timeout * 1000 }, say);
    }
  } catch (err) {
    if (!opts.detach) await down(layout, { log: say });
    throw err;
  }
  const withOperator = mode !== 'none';
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
