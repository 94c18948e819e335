import { homeLayout } from '../local/home.ts';
import { down, serverUrl, up } from '../local/controlplane/cluster.ts';
import { processState, tailLog } from '../local/controlplane/supervisor.ts';
import { parseRuntime } from '../local/kubelet/runtime.ts';
import { Kube } from '../kube/client.ts';

const say = (msg: string) => process.stderr.write(`pgtls: ${msg}\n`);

export type OperatorMode = 'process' | 'chart' | 'none';

export async function upCommand(opts: { detach?: boolean; portBase?: number; timeout: number; runtime?: string; operator?: OperatorMode }): Promise<void> {
  const layout = homeLayout();
  const runtime = opts.runtime === undefined ? undefined : parseRuntime(opts.runtime);
  const started = Date.now();
  const mode = opts.operator ?? 'process';
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

  say('running in the foreground; Ctrl-C stops the operator and the cluster (data is kept)');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      clearInterval(watch);
      say('stopping');
      void down(layout, { log: say }).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const reported = new Set<string>();
    // Say once when a component dies; `pgtls up` again restarts it.
    const watch = setInterval(() => {
      for (const c of handle.components) {
        const st = processState(layout, c);
        if (st.state !== 'running' && !reported.has(c.name)) {
          reported.add(c.name);
          say(`${c.name} is not running any more. Last lines of its log:\n${tailLog(layout, c.name)}`);
        }
      }
    }, 2000);
  });
}
