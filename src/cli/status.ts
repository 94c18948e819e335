import { homeLayout } from '../local/home.ts';
import { nodeNetworkEnabled, serverUrl, status } from '../local/controlplane/cluster.ts';
import { networkSummary } from '../local/net/summary.ts';
import { operatorPorts } from '../local/controlplane/components/operator.ts';

export async function statusCommand(): Promise<void> {
  const layout = homeLayout();
  const st = await status(layout);
  if (!st) {
    process.stdout.write(`no cluster in ${layout.home} (pgtls up creates one)\n`);
    return;
  }
  const rows = st.components.map((c) => {
    const p = c.process;
    const what = p.state === 'running' ? `running  pid ${p.pid}${c.healthy ? '' : '  (not healthy)'}` : p.state === 'stale' ? `stopped  (stale pid file: ${p.reason})` : 'stopped';
    return `  ${c.name.padEnd(24)} ${what}`;
  });
  const p = st.cfg.ports;
  const op = operatorPorts(st.cfg);
  process.stdout.write(
    `cluster ${st.cfg.name} in ${layout.home}\n` +
      `  api server   ${serverUrl(st.cfg)}\n  kubeconfig   ${layout.kubeconfig}\n` +
      `  etcd         https://${st.cfg.host}:${p.etcdClient}\n  operator     webhook https://${st.cfg.host}:${op.webhook}, health http://${st.cfg.host}:${op.health}/readyz\n  versions     kubernetes ${st.cfg.versions.kubernetes}, etcd ${st.cfg.versions.etcd}, cert-manager ${st.cfg.versions.certManager}\n` +
      (nodeNetworkEnabled() ? `  network      ${networkSummary(st.cfg.ports.apiserver, layout)}\n` : '') +
      `components:\n${rows.join('\n')}\n`,
  );
  if (st.components.some((c) => c.process.state === 'running' && !c.healthy)) process.exitCode = 3;
}
