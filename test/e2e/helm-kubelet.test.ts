// The Helm chart as a user installs it, on the kubelet runtime (containerd, runc, the real
// kubelet): the operator image, built here without a container engine, in pods hardened as the
// chart says; its webhook reached by the API server through its Service; two replicas, one
// leader, the leader killed; an upgrade rolling one replica at a time with the webhook answering;
// uninstall. Database pods need the catalog images on this runtime (the image builder's); they are
// not part of this file yet. Skips, saying why, where the runtime or the base image is missing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { helmMissing, runHelmOk } from '../../src/install/helm.ts';
import { chartInstallArgs, installOperatorChart, waitWebhookCalled } from '../../src/install/local-chart.ts';
import { archivePrerequisites, buildOperatorArchive } from '../../src/install/operator-archive.ts';
import { operatorImageSpec } from '../../src/install/operator-image.ts';
import { preflight } from '../../src/local/kubelet/runtime.ts';
import { kubeletNodeLayout } from '../../src/local/kubelet/layout.ts';
import { kubeletRuntimeBinaries, kubeletRuntimeVersions } from '../../src/local/kubelet/components.ts';
import { ctrFor, importNamedArchive } from '../../src/local/kubelet/images.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, runOk, sleep } from '../helpers/exec.ts';
import { tmpDir } from '../helpers/tls.ts';

const RELEASE_NS = 'pgtls-system';

const kubeletFailing = preflight();
const archiveMissing = archivePrerequisites();
const kubeletSkip = helmMissing() ?? (kubeletFailing.length ? `the kubelet runtime cannot start here: ${kubeletFailing.join('; ')}` : archiveMissing);
if (kubeletSkip) process.stderr.write(`helm-kubelet.test.ts: SKIP: ${kubeletSkip}\n`);

describe('the chart on the kubelet runtime: the operator image in pods', { timeout: 40 * 60_000, skip: kubeletSkip }, () => {
  let c: TestCluster;
  let archive: string;
  const helmState = tmpDir('pgtls-helm-k-');
  const pods = async () =>
    (JSON.parse(await c.kubectlOk(['-n', RELEASE_NS, 'get', 'pods', '-l', 'app.kubernetes.io/instance=pgtls', '-o', 'json'])) as { items: { metadata: { name: string; deletionTimestamp?: string }; status: { phase: string; conditions?: { type: string; status: string }[] } }[] }).items;
  const ready = (p: Awaited<ReturnType<typeof pods>>[number]) => !p.metadata.deletionTimestamp && (p.status.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
  const holder = async () => (JSON.parse(await c.kubectlOk(['-n', RELEASE_NS, 'get', 'lease', 'pgtls-operator', '-o', 'json'])) as { spec: { holderIdentity?: string } }).spec.holderIdentity;
  const exec = (pod: string, cmd: string[]) => c.kubectl(['-n', RELEASE_NS, 'exec', pod, '-c', 'operator', '--', ...cmd]);

  before(async () => {
    const t0 = Date.now();
    archive = (await buildOperatorArchive(join(tmpDir('pgtls-op-image-'), 'pgtls-operator.tar'), { log: (l) => process.stderr.write(`[image] ${l}\n`) })).archive;
    process.stderr.write(`[image] built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    c = await startTestCluster({ runtime: 'kubelet', operator: false });
    const ctr = ctrFor(kubeletNodeLayout(c.layout, c.handle.cfg).containerdSock);
    process.stderr.write(`[image] ${importNamedArchive(ctr, archive)}\n`);
  });

  after(async () => {
    await c?.destroy();
  });

  it('the image has the config the Dockerfile builds: user, entrypoint, command, working directory, environment', async () => {
    const spec = operatorImageSpec();
    const cfg = (JSON.parse(await runOk('skopeo', ['inspect', '--config', `oci-archive:${archive}`])) as { config: { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string; Env: string[] } }).config;
    assert.equal(cfg.User, spec.user);
    assert.deepEqual(cfg.Entrypoint, spec.entrypoint);
    assert.deepEqual(cfg.Cmd, spec.cmd);
    assert.equal(cfg.WorkingDir, spec.workingDir);
    for (const e of spec.env) assert.ok(cfg.Env.includes(e), e);
  });

  it('helm install: 2 replicas Ready (hardened: uid 65534, read-only root), one leads, the API server calls the webhook through its Service', async () => {
    const t0 = Date.now();
    await installOperatorChart(c.kube, { kubeconfig: c.layout.kubeconfig, stateDir: helmState, timeoutMs: 600_000 }, (m) => process.stderr.write(`[chart] ${m}\n`));
    process.stderr.write(`[chart] installed and called in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const ps = await pods();
    assert.equal(ps.filter(ready).length, 2, JSON.stringify(ps.map((p) => [p.metadata.name, p.status.phase])));
    const leader = await holder();
    assert.ok(ps.some((p) => p.metadata.name === leader), `a replica holds the Lease (identity = pod name), not ${leader}`);
    const pod = ps[0]!.metadata.name;
    assert.equal((await exec(pod, ['id', '-u'])).stdout.trim(), '65534');
    const write = await exec(pod, ['sh', '-c', 'echo x > /app/probe']);
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /Read-only file system/);
    assert.equal((await exec(pod, ['ls', '/app'])).stdout.trim().split(/\s+/).sort().join(' '), operatorImageSpec().appEntries.join(' '));
    assert.match((await exec(pod, ['ls', '-l', '/var/run/pgtls/webhook'])).stdout, /tls\.key/);
  });

  it('/metrics from inside the cluster, through the metrics Service', async () => {
    // From an operator pod (Node's fetch; the image has no curl), by the Service's DNS name.
    const pod = (await pods()).find(ready)!.metadata.name;
    const script = `fetch('http://pgtls-metrics.${RELEASE_NS}.svc:8080/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
    const out = (await exec(pod, ['node', '-e', script])).stdout;
    assert.match(out, /^pgtls_leader [01]$/m);
    assert.match(out, /^process_resident_memory_bytes \d+/m);
  });

  it('the leader killed (SIGKILL, no Lease release): a live process leads again and the webhook keeps answering', async () => {
    const leader = (await holder())!;
    const restarts = async (pod: string) =>
      (JSON.parse(await c.kubectlOk(['-n', RELEASE_NS, 'get', 'pod', pod, '-o', 'json'])) as { status: { containerStatuses?: { name: string; restartCount: number }[] } }).status.containerStatuses?.find((s) => s.name === 'operator')?.restartCount ?? 0;
    const restartsBefore = await restarts(leader);
    const node = kubeletNodeLayout(c.layout, c.handle.cfg);
    const crictl = (args: string[]) => spawnSync(kubeletRuntimeBinaries(kubeletRuntimeVersions()).crictl, ['--config', node.crictlConfig, ...args], { encoding: 'utf8', timeout: 60_000 });
    const id = crictl(['ps', '-q', '--label', `io.kubernetes.pod.name=${leader}`, '--name', 'operator']).stdout.trim();
    assert.match(id, /^[0-9a-f]+$/, `the leader's container (${leader})`);
    const t0 = Date.now();
    const stop = crictl(['stop', '--timeout', '0', id]);
    assert.equal(stop.status, 0, stop.stderr);
    // The identity is the pod's name: either the other replica takes the Lease once it expires, or
    // the kubelet restarts the killed container first (about a second on this runtime) and the new
    // process resumes the pod's own Lease. The old process is dead either way, so no two lead.
    const next = await eventually('a live process to lead', async () => {
      const h = await holder();
      if (h && h !== leader) return h;
      if (h === leader && (await restarts(leader)) > restartsBefore) return h;
      return undefined;
    }, 120_000, 250);
    const takeover = (Date.now() - t0) / 1000;
    process.stderr.write(`[chart] leader ${leader} killed; ${next}${next === leader ? ' (its container restarted)' : ''} leads after ${takeover.toFixed(1)} s\n`);
    await waitWebhookCalled(c.kube, RELEASE_NS, 60_000);
    // The killed container restarts (restartPolicy Always).
    await eventually('2 Ready replicas again', async () => ((await pods()).filter(ready).length === 2 ? true : undefined), 300_000, 1000);
    assert.equal(await holder(), next);
  });

  it('the leader\'s pod deleted: it releases the Lease on SIGTERM (after the preStop delay), the other replica leads at once', async () => {
    const leader = (await holder())!;
    const t0 = Date.now();
    await c.kubectlOk(['-n', RELEASE_NS, 'delete', 'pod', leader, '--wait=false']);
    const next = await eventually('another replica to lead', async () => {
      const h = await holder();
      return h && h !== leader ? h : undefined;
    }, 120_000, 250);
    process.stderr.write(`[chart] leader pod ${leader} deleted; ${next} leads after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    await waitWebhookCalled(c.kube, RELEASE_NS, 60_000);
    await eventually('2 Ready replicas again', async () => ((await pods()).filter(ready).length === 2 ? true : undefined), 300_000, 1000);
  });

  it('helm upgrade rolls the Deployment one replica at a time, the webhook answering throughout; helm uninstall removes the operator', async () => {
    let calls = 0;
    let failures = 0;
    let rolling = true;
    // Bounded: at most 1200 probes (the upgrade's own timeout is 10 minutes).
    const probe = (async () => {
      while (rolling && calls < 1200) {
        calls++;
        // 10 s: a dry run through the webhook is slow on a loaded machine; unanswered for 10 s is an outage.
        await waitWebhookCalled(c.kube, RELEASE_NS, 10_000).catch(() => failures++);
        await sleep(500);
      }
    })();
    const before = new Set((await pods()).map((p) => p.metadata.name));
    try {
      await runHelmOk(chartInstallArgs({ kubeconfig: c.layout.kubeconfig, stateDir: helmState, timeoutMs: 600_000, set: ['logLevel=debug'] }), { stateDir: helmState, timeoutMs: 660_000 });
    } finally {
      rolling = false;
      await probe;
    }
    process.stderr.write(`[chart] upgrade: ${failures} of ${calls} webhook probes failed\n`);
    const after = (await pods()).filter(ready).map((p) => p.metadata.name);
    assert.equal(after.length, 2);
    for (const p of after) assert.ok(!before.has(p), `${p} is a new replica`);
    assert.equal(failures, 0, 'maxUnavailable 0 and readiness keep a replica serving');
    await runHelmOk(['uninstall', 'pgtls', '-n', RELEASE_NS, '--kubeconfig', c.layout.kubeconfig, '--wait', '--timeout', '300s'], { stateDir: helmState, timeoutMs: 330_000 });
    assert.notEqual((await c.kubectl(['get', 'validatingwebhookconfiguration', 'pgtls-validators'])).code, 0);
    await eventually('the operator pods gone', async () => ((await pods()).length === 0 ? true : undefined), 120_000, 1000);
    await c.kubectlOk(['get', 'crd', 'postgreses.kubedb.com']);
  });
});
