// A real local cluster for one test file: its own pgtls home under the OS temp
// dir and its own loopback ports, torn down (and purged) at the end.
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { homeLayout, type HomeLayout } from '../../src/local/home.ts';
import { down, up, type ClusterHandle } from '../../src/local/controlplane/cluster.ts';
import { Kube } from '../../src/kube/client.ts';
import { eventually, run, runOk, type RunResult } from './exec.ts';
import { parseRuntime, type Runtime } from '../../src/local/kubelet/runtime.ts';

export interface TestCluster {
  layout: HomeLayout;
  handle: ClusterHandle;
  kube: Kube;
  portBase: number;
  /** How the operator runs: the chart's Deployment on the node, a host process, or not at all. */
  operatorMode: 'chart' | 'process' | 'none';
  env: NodeJS.ProcessEnv;
  kubectl(args: string[], input?: string): Promise<RunResult>;
  kubectlOk(args: string[], input?: string): Promise<string>;
  /** Creates a namespace and waits for its `default` ServiceAccount, as a pod created there needs it. */
  createNamespace(name: string): Promise<void>;
  /** Node agent log lines that mention `needle` (the last `max`), for a failure's message. */
  agentLog(needle: string, max?: number): string;
  /** What a namespace holds and its recent Events, and the operator's last log lines: for a failure's message. */
  snapshot(namespace: string): Promise<string>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

/** Each test file gets its own port range, so files never collide. */
export function testPortBase(): number {
  // Below the kernel's ephemeral range (32768+), so no client socket sits on them.
  // PGTLS_TEST_PORT_BASE pins it, for several test runs side by side on one machine.
  const pinned = Number(process.env.PGTLS_TEST_PORT_BASE);
  if (Number.isInteger(pinned) && pinned > 1024) return pinned;
  return 20000 + (process.pid % 120) * 100;
}

/**
 * By default (`operator: 'chart'`) the operator is installed as users install
 * it, as `pgtls up --operator=chart` does: the operator image on the local node,
 * the Helm chart's Deployment (2 replicas, leader election), its webhook reached
 * through its Service. `operator: true` runs it as a host process instead
 * (`pgtls operator`, for tests that kill, freeze or restart that process or call
 * its ports); PGTLS_TEST_OPERATOR=process makes that the default of every e2e
 * file that does not choose. `operator: false` leaves the operator out (for
 * tests that run their own webhook or controllers in-process).
 * `runtime: 'kubelet'` runs pods on the real kubelet and containerd
 * (docs/kubelet-runtime.md); check `preflight()` of src/local/kubelet/runtime.ts first.
 * PGTLS_TEST_RUNTIME=kubelet makes that the default of every file that does not choose.
 */
export async function startTestCluster(opts: { portBase?: number; operator?: boolean | 'chart'; runtime?: Runtime } = {}): Promise<TestCluster> {
  const home = mkdtempSync(join(tmpdir(), 'pgtls-test-'));
  const layout = homeLayout(home);
  const portBase = opts.portBase ?? testPortBase();
  const log = (m: string) => process.stderr.write(`[cluster] ${m}\n`);
  const mode = opts.operator ?? (process.env.PGTLS_TEST_OPERATOR === 'process' ? true : 'chart');
  const operator = mode === true;
  let handle: ClusterHandle;
  try {
    handle = await up(layout, { portBase, log, operator, runtime: opts.runtime ?? (process.env.PGTLS_TEST_RUNTIME ? parseRuntime(process.env.PGTLS_TEST_RUNTIME) : undefined) });
    if (mode === 'chart') {
      const { helmStateDir, installOperatorChart, loadOperatorImage } = await import('../../src/install/local-chart.ts');
      await loadOperatorImage(layout, handle.cfg, log);
      await installOperatorChart(Kube.fromFile(layout.kubeconfig), { kubeconfig: layout.kubeconfig, stateDir: helmStateDir(layout.home), timeoutMs: 600_000 }, log);
    }
  } catch (err) {
    // What did start (processes, and the kubelet runtime's namespaces and cgroups) must not outlive the test.
    await down(layout, { purge: true, log });
    throw err;
  }
  const env = { ...process.env, PGTLS_HOME: home, KUBECONFIG: layout.kubeconfig };
  const tc: TestCluster = {
    layout,
    handle,
    kube: Kube.fromFile(layout.kubeconfig),
    portBase,
    operatorMode: mode === 'chart' ? 'chart' : mode ? 'process' : 'none',
    env,
    kubectl: (args, input) => run('kubectl', args, { env, input }),
    kubectlOk: (args, input) => runOk('kubectl', args, { env, input }),
    createNamespace: async (name) => {
      await runOk('kubectl', ['create', 'namespace', name], { env });
      // The ServiceAccount controller adds `default` a moment later; until then the API server refuses pods there.
      await eventually(`serviceaccount ${name}/default`, async () => (await run('kubectl', ['-n', name, 'get', 'serviceaccount', 'default'], { env })).code === 0, 60_000, 200);
    },
    agentLog: (needle, max = 40) => {
      const file = join(layout.logs, 'node-agent.log');
      if (!existsSync(file)) return '(no node agent log)';
      return readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(needle)).slice(-max).join('\n');
    },
    snapshot: async (namespace) => {
      const parts: string[] = [];
      const get = async (title: string, args: string[], lastLines = 40) => {
        const r = await run('kubectl', args, { env });
        parts.push(`--- ${title}\n${(r.stdout + r.stderr).trim().split('\n').slice(-lastLines).join('\n')}`);
      };
      await get(`${namespace}: objects`, ['-n', namespace, 'get', 'pg,pb,pp,sts,pods,certificates', '-o', 'wide']);
      await get(`${namespace}: events`, ['-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp']);
      await get('operator log', ['-n', 'pgtls-system', 'logs', '-l', 'app.kubernetes.io/component=operator', '--tail=30', '--prefix']);
      const opLog = join(layout.logs, 'operator.log');
      if (existsSync(opLog)) parts.push(`--- operator log (process)\n${readFileSync(opLog, 'utf8').trim().split('\n').slice(-30).join('\n')}`);
      return parts.join('\n');
    },
    stop: () => down(layout, { log }),
    restart: async () => {
      await down(layout, { log });
      handle = await up(layout, { log, operator });
      tc.handle = handle;
    },
    destroy: async () => {
      // PGTLS_TEST_KEEP_LOGS=<dir> keeps each cluster's logs (node agent, control plane) for a post-mortem.
      const keep = process.env.PGTLS_TEST_KEEP_LOGS;
      if (keep && existsSync(layout.logs)) cpSync(layout.logs, join(keep, basename(home)), { recursive: true });
      await down(layout, { purge: true, log });
    },
  };
  return tc;
}
