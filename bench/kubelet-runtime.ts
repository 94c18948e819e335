// Issue 10 figures for `pgtls up --runtime kubelet`: up to ready (new home,
// then existing home), busybox pod create → Ready, Secret change → new file
// content in the pod (plain, and with a pod annotation that makes the kubelet
// sync the pod at once), RSS of the node's processes, and down.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homeLayout } from '../src/local/home.ts';
import { down, up } from '../src/local/controlplane/cluster.ts';
import { processState } from '../src/local/controlplane/supervisor.ts';
import { Kube } from '../src/kube/client.ts';
import { k8s } from '../src/kube/client-node.ts';
import { preflight, busyboxImageRef } from '../src/local/kubelet/runtime.ts';
import { run } from '../test/helpers/exec.ts';
import { report } from './report.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const portBase = Number(process.env.PGTLS_TEST_PORT_BASE ?? 26100);
const NS = 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (t: number) => Math.round((performance.now() - t) / 100) / 10;

const failing = preflight();
if (failing.length > 0) {
  process.stderr.write(`kubelet-runtime: cannot run here: ${failing.join('; ')}\n`);
  process.exit(0);
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const rssMiB = (pid: number) => Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024);
const layout = homeLayout(mkdtempSync(join(tmpdir(), 'pgtls-bench-kubelet-')));
const log = () => {};
const result: Record<string, unknown> = { load_average_at_start: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) };
try {
  let t = performance.now();
  let handle = await up(layout, { portBase, runtime: 'kubelet', operator: false, log });
  result.up_new_home_s = secs(t);
  const kube = Kube.fromFile(layout.kubeconfig);
  const core = kube.api(k8s.CoreV1Api);
  const env = { ...process.env, KUBECONFIG: layout.kubeconfig };
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await until('the default service account', async () => Boolean(await core.readNamespacedServiceAccount({ name: 'default', namespace: NS })), 60_000, 200);
  await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 's' }, stringData: { v: '0' } } });
  const ready = async (name: string) => Boolean((await core.readNamespacedPod({ name, namespace: NS })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const createToReady: number[] = [];
  for (let i = 0; i < rounds; i++) {
    t = performance.now();
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: `p-${i}` },
        spec: {
          containers: [{ name: 'c', image: busyboxImageRef(), imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'], volumeMounts: [{ name: 's', mountPath: '/s' }] }],
          volumes: [{ name: 's', secret: { secretName: 's' } }],
        },
      },
    });
    await until(`p-${i} ready`, () => ready(`p-${i}`), 120_000, 50);
    createToReady.push(secs(t));
  }
  result.pod_create_to_ready_s = createToReady;
  const patch = (v: string) => core.patchNamespacedSecret({ name: 's', namespace: NS, body: { stringData: { v } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  const fileIs = async (v: string) => (await run('kubectl', ['-n', NS, 'exec', 'p-0', '--', 'cat', '/s/v'], { env })).stdout === v;
  const plain: number[] = [];
  const nudged: number[] = [];
  for (let i = 1; i <= 2; i++) {
    t = performance.now();
    await patch(`plain-${i}`);
    await until('new secret content', () => fileIs(`plain-${i}`), 180_000, 250);
    plain.push(secs(t));
    t = performance.now();
    await patch(`nudged-${i}`);
    await core.patchNamespacedPod({ name: 'p-0', namespace: NS, body: { metadata: { annotations: { 'pgtls.dev/secret-sync': String(Date.now()) } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await until('new secret content after the annotation', () => fileIs(`nudged-${i}`), 180_000, 100);
    nudged.push(secs(t));
  }
  result.secret_to_file_s = plain;
  result.secret_plus_pod_annotation_to_file_s = nudged;
  await sleep(10_000);
  result.rss_mib = Object.fromEntries(
    handle.components
      .filter((c) => ['net-gateway', 'local-path-provisioner', 'containerd', 'kubelet', 'kube-proxy'].includes(c.name))
      .map((c) => {
        const st = processState(layout, c);
        return [c.name, st.state === 'running' ? rssMiB(st.pid) : null];
      }),
  );
  t = performance.now();
  await down(layout, { log });
  result.down_s = secs(t);
  t = performance.now();
  handle = await up(layout, { log, operator: false });
  result.up_existing_home_s = secs(t);
  void handle;
} finally {
  await down(layout, { purge: true, log });
}
const r = result as { up_new_home_s: number; up_existing_home_s: number; pod_create_to_ready_s: number[]; secret_to_file_s: number[]; secret_plus_pod_annotation_to_file_s: number[]; down_s: number };
report(
  'kubelet-runtime',
  result,
  `up ${r.up_new_home_s} s (new home) / ${r.up_existing_home_s} s (existing), pod → Ready ${r.pod_create_to_ready_s.join(', ')} s, ` +
    `Secret → file ${r.secret_to_file_s.join(', ')} s (${r.secret_plus_pod_annotation_to_file_s.join(', ')} s with a pod annotation), down ${r.down_s} s`,
);
