// Node agent figures: PostgreSQL pod create → Ready, Secret change → new file
// content visible in the pod, and the agent's CPU and RSS with 50 pods running.
// BENCH_NODE_MODE picks the node: `strict` (default as root: kubelet volume
// ownership, a network namespace per pod) or `loopback` (the earlier node:
// pods on 127.P.x.y in the host's network, files given to the pod user).
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homeLayout } from '../src/local/home.ts';
import { down, up } from '../src/local/controlplane/cluster.ts';
import { processState } from '../src/local/controlplane/supervisor.ts';
import { Kube } from '../src/kube/client.ts';
import { k8s } from '../src/kube/client-node.ts';
import { run } from '../test/helpers/exec.ts';
import { podNetnsUnsupported } from '../test/helpers/node-netns.ts';
import { report } from './report.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const pods = Number(process.env.BENCH_PODS ?? 50);
const mode = process.env.BENCH_NODE_MODE ?? (podNetnsUnsupported() ? 'loopback' : 'strict');
if (mode !== 'strict' && mode !== 'loopback') throw new Error(`BENCH_NODE_MODE: strict or loopback, not ${mode}`);
const portBase = Number(process.env.PGTLS_TEST_PORT_BASE ?? 26000);
const pgImage = process.env.BENCH_PG_IMAGE ?? 'localhost/pgtls/postgres:15';
const sleepImage = process.env.BENCH_SLEEP_IMAGE ?? 'localhost/pgtls/debian:bookworm';
const NS = 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function procStat(pid: number): { ticks: number; rssMiB: number } {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { ticks: Number(f[11]) + Number(f[12]), rssMiB: rss ? Math.round(Number(rss[1]) / 1024) : NaN };
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

if (mode === 'strict') {
  process.env.PGTLS_NODE_STRICT = '1';
  process.env.PGTLS_NODE_POD_NETWORK = 'netns';
} else process.env.PGTLS_NODE_POD_NETWORK = 'loopback';
const layout = homeLayout(mkdtempSync(join(tmpdir(), 'pgtls-bench-node-')));
const createToReady: number[] = [];
const secretToFile: number[] = [];
let idle: { cpu_percent: number; rss_mib: number; pods: number } | undefined;
try {
  const handle = await up(layout, { portBase, operator: false });
  const kube = Kube.fromFile(layout.kubeconfig);
  const core = kube.api(k8s.CoreV1Api);
  const env = { ...process.env, KUBECONFIG: layout.kubeconfig };
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await until('the default service account', async () => Boolean(await core.readNamespacedServiceAccount({ name: 'default', namespace: NS })), 60_000, 200);
  await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 's' }, stringData: { v: '0' } } });
  const ready = async (name: string) => {
    const p = await core.readNamespacedPod({ name, namespace: NS });
    return Boolean(p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  };
  // In its own network namespace a server listens on every address of the pod, as on a kubelet.
  const listen = mode === 'strict' ? "'*'" : '$(POD_IP)';
  for (let i = 0; i < rounds; i++) {
    const name = `pg-${i}`;
    const t = performance.now();
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name },
        spec: {
          containers: [
            {
              name: 'pg',
              image: pgImage,
              command: ['sh', '-c', `initdb -D /data/db -U postgres -A trust >/dev/null && exec postgres -D /data/db -c listen_addresses=${listen} -c unix_socket_directories=/tmp -c fsync=off`],
              env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
              readinessProbe: { exec: { command: ['pg_isready', '-h', '/tmp'] }, periodSeconds: 1 },
              volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 's', mountPath: '/s' }],
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }, { name: 's', secret: { secretName: 's' } }],
        },
      },
    });
    await until(`${name} ready`, () => ready(name), 180_000);
    createToReady.push((performance.now() - t) / 1000);
  }
  for (let i = 1; i <= rounds; i++) {
    const t = performance.now();
    await core.patchNamespacedSecret({ name: 's', namespace: NS, body: { stringData: { v: String(i) } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    // Read the file as the pod sees it, through its mount namespace.
    await until('new secret content', async () => (await run('kubectl', ['-n', NS, 'exec', 'pg-0', '--', 'cat', '/s/v'], { env })).stdout === String(i), 60_000, 10);
    secretToFile.push((performance.now() - t) / 1000);
  }
  for (let i = 0; i < rounds; i++) await core.deleteNamespacedPod({ name: `pg-${i}`, namespace: NS });
  for (let i = 0; i < pods; i++) {
    await core.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name: `sleep-${i}`, labels: { app: 'sleep' } }, spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'c', image: sleepImage, command: ['sleep', 'infinity'] }] } },
    });
  }
  await until(`${pods} sleep pods ready`, async () => {
    const l = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=sleep' });
    return l.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === pods;
  }, 300_000, 1000);
  await sleep(10_000);
  const agent = handle.components.find((c) => c.name === 'node-agent')!;
  const st = processState(layout, agent);
  if (st.state !== 'running') throw new Error('node agent is not running');
  const a = procStat(st.pid);
  const windowS = 30;
  await sleep(windowS * 1000);
  const b = procStat(st.pid);
  const hz = 100;
  idle = { cpu_percent: +(((b.ticks - a.ticks) / hz / windowS) * 100).toFixed(2), rss_mib: b.rssMiB, pods };
} finally {
  await down(layout, { purge: true });
}
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
report(
  'node-agent',
  {
    mode,
    images: { postgres: pgImage, sleep: sleepImage },
    postgres_pod_create_to_ready_seconds: createToReady.map((x) => +x.toFixed(2)),
    secret_change_to_file_seconds: secretToFile.map((x) => +x.toFixed(3)),
    agent_with_pods: idle,
  },
  `[${mode}, ${pgImage}] PostgreSQL pod create→Ready median ${med(createToReady).toFixed(2)}s; Secret→file median ${med(secretToFile).toFixed(3)}s; agent with ${pods} pods: ${idle?.cpu_percent}% CPU, ${idle?.rss_mib} MiB RSS`,
);
