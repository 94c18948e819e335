import { homeLayout, type HomeLayout } from '../local/home.ts';
import { nodeNetworkEnabled, serverUrl, status, type ClusterStatus, type ComponentStatus } from '../local/controlplane/cluster.ts';
import { networkSummary } from '../local/net/summary.ts';
import { operatorPorts } from '../local/controlplane/components/operator.ts';
import { describeExit } from '../local/controlplane/restart-records.ts';

/** "4 s", "3 min", "2 h": how long ago, or how long until, for people. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** One component's line(s): process state, then what the supervisor recorded. */
export function componentLines(c: ComponentStatus, supervisorRunning: boolean, now: number, tailLines = 3): string[] {
  const p = c.process;
  const rec = c.supervised;
  let what: string;
  if (p.state === 'running') what = `running  pid ${p.pid}${c.healthy ? '' : '  (not healthy)'}`;
  else if (rec?.state === 'backoff' && supervisorRunning && rec.nextStartAt) what = `restarting in ${span(Date.parse(rec.nextStartAt) - now)}`;
  else if (rec?.state === 'failed') what = 'failed to start';
  else if (p.state === 'stale') what = `stopped  (stale pid file: ${p.reason})`;
  else what = 'stopped';
  const lines = [`  ${c.name.padEnd(24)} ${what}`];
  if (rec && rec.restarts > 0) {
    const e = rec.lastExit;
    const last = e
      ? `; last exit ${describeExit(e)} ${span(now - Date.parse(e.at))} ago${e.duringStart ? ' during start-up' : ` after running ${span(e.ranMs)}`}`
      : '';
    lines.push(`  ${''.padEnd(24)} restarts ${rec.restarts}${last}`);
    for (const l of (e?.logTail ?? []).filter((x) => x.trim() !== '').slice(-tailLines)) lines.push(`  ${''.padEnd(24)}   | ${l.slice(0, 160)}`);
  }
  return lines;
}

export function formatStatus(st: ClusterStatus, layout: HomeLayout, now = Date.now()): string {
  const p = st.cfg.ports;
  const op = operatorPorts(st.cfg);
  const supRunning = st.supervisor.state === 'running';
  const anyRunning = st.components.some((c) => c.process.state === 'running');
  const sup = st.supervisor.state === 'running'
    ? `running  pid ${st.supervisor.pid} (restarts what exits; log ${layout.logs}/supervisor.log)`
    : anyRunning
      ? 'not running: components that exit are not restarted (`pgtls up` starts it again)'
      : 'stopped';
  return (
    `cluster ${st.cfg.name} in ${layout.home}\n` +
    `  api server   ${serverUrl(st.cfg)}\n  kubeconfig   ${layout.kubeconfig}\n` +
    `  etcd         https://${st.cfg.host}:${p.etcdClient}\n  operator     webhook https://${st.cfg.host}:${op.webhook}, health http://${st.cfg.host}:${op.health}/readyz\n  versions     kubernetes ${st.cfg.versions.kubernetes}, etcd ${st.cfg.versions.etcd}, cert-manager ${st.cfg.versions.certManager}\n` +
    (nodeNetworkEnabled() ? `  network      ${networkSummary(st.cfg.ports.apiserver, layout)}\n` : '') +
    `  supervisor   ${sup}\n` +
    `components:\n${st.components.flatMap((c) => componentLines(c, supRunning, now)).join('\n')}\n`
  );
}

export async function statusCommand(opts: { json?: boolean } = {}): Promise<void> {
  const layout = homeLayout();
  const st = await status(layout);
  if (!st) {
    if (opts.json) process.stdout.write(`${JSON.stringify({ home: layout.home, cluster: null })}\n`);
    else process.stdout.write(`no cluster in ${layout.home} (pgtls up creates one)\n`);
    return;
  }
  if (opts.json) {
    // The component records stay out: their arguments name key files, and status is for reading state.
    const components = st.components.map(({ supervised, ...c }) => ({
      ...c,
      supervised: supervised && { ...supervised, component: undefined },
    }));
    process.stdout.write(`${JSON.stringify({ home: layout.home, cluster: st.cfg.name, supervisor: st.supervisor, components }, null, 2)}\n`);
  } else {
    process.stdout.write(formatStatus(st, layout));
  }
  if (st.components.some((c) => c.process.state === 'running' && !c.healthy)) process.exitCode = 3;
}
