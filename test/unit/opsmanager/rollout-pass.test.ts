// A rollout never holds a worker while it waits: each pass does what can be
// done now and returns how long to wait (the request is requeued), whether a
// server is slow to take its files (reload) or a pod is coming back (restart).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { k8s } from '../../../src/kube/client.ts';
import { postgres } from '../../../src/kinds/index.ts';
import { selectorLabels } from '../../../src/kinds/info.ts';
import { parseRestarting, rollPodsPass, secretSyncMark, SECRET_SYNC_ANNOTATION, type PodResult, type RolloutMark } from '../../../src/opsmanager/rollout.ts';
import { readSecret } from '../../../src/provisioner/objects.ts';
import { ExecTimeoutError } from '../../../src/kube/api.ts';
import { readProgress } from '../../../src/opsmanager/ops-status.ts';
import { DB, NS, World } from './world.ts';

/** The first `lag` reloads of each pod are not seen by its server yet (a secret volume that lags). */
function lagging(w: World, lag: number): void {
  const take = w.kube.execHandler;
  const seen = new Map<string, number>();
  w.kube.execHandler = async (pod, cmd) => {
    const n = (seen.get(pod.name) ?? 0) + 1;
    seen.set(pod.name, n);
    if (n <= lag) return { exitCode: 0, stdout: 'server signaled\n', stderr: '' };
    return take(pod, cmd);
  };
}

function memoryMark(): RolloutMark & { value?: string } {
  const m: RolloutMark & { value?: string } = {
    get: () => m.value,
    set: async (v) => {
      m.value = v ?? undefined;
    },
  };
  return m;
}

/** The first `n` execs of each kind (the checked reload) time out, as on a node too busy to answer. */
function timingOut(w: World, n: number): { timeouts: number } {
  const take = w.kube.execHandler;
  const seen = new Map<string, number>();
  const out = { timeouts: 0 };
  w.kube.execHandler = async (pod, cmd) => {
    const k = `${pod.name} ${cmd[0]}`;
    const i = (seen.get(k) ?? 0) + 1;
    seen.set(k, i);
    if (i <= n) {
      out.timeouts++;
      throw new ExecTimeoutError(`exec ${cmd[0]} in Pod ${NS}/${pod.name} (container postgres) timed out after 20000 ms`);
    }
    return take(pod, cmd);
  };
  return out;
}

describe('rollout, one pass at a time', () => {
  it('an exec that times out (the checked reload) is a wait: the request ends Successful, its retries unspent', async () => {
    const w = new World();
    await w.setup();
    const t = timingOut(w, 2);
    w.createOps('rot', { rotateCertificates: true });
    const r = w.reconciler();
    for (let i = 0; i < 200; i++) {
      const phase = (await w.ops('rot')).status?.phase;
      if (phase === 'Successful' || phase === 'Failed') break;
      await r.reconcile({ namespace: NS, name: 'rot' });
      await w.certManager();
      w.clock.advance(1_000);
    }
    const op = await w.ops('rot');
    assert.equal(op.status?.phase, 'Successful', JSON.stringify(op.status?.conditions?.filter((c) => c.status === 'False')));
    assert.ok(t.timeouts >= 4, `the checked reload timed out twice on every pod (${t.timeouts})`);
    assert.equal(readProgress(op, w.clock.now()).retries, 0, 'no retry spent on a timeout');
    const staged = await w.staged();
    for (const pod of ['pg-0', 'pg-1']) assert.equal(w.served.get(pod), staged?.['server.crt']);
  });

  it('a rotation whose servers lag is requeued, each pass short, and still ends Successful', async () => {
    const w = new World();
    await w.setup();
    lagging(w, 3);
    w.createOps('rot', { rotateCertificates: true });
    const r = w.reconciler();
    const results: { requeueAfterMs?: number }[] = [];
    let longest = 0;
    for (let i = 0; i < 200; i++) {
      const phase = (await w.ops('rot')).status?.phase;
      if (phase === 'Successful' || phase === 'Failed') break;
      const slept = w.clock.slept;
      results.push((await r.reconcile({ namespace: NS, name: 'rot' })) ?? {});
      longest = Math.max(longest, w.clock.slept - slept);
      await w.certManager();
      w.clock.advance(1_000);
    }
    assert.equal((await w.ops('rot')).status?.phase, 'Successful');
    assert.ok(results.filter((x) => x.requeueAfterMs === 500).length >= 3, 'waiting for the lagging servers was requeued');
    assert.ok(longest <= 500, `no pass waited long in the worker (longest ${longest} ms of sleeping)`);
    const staged = await w.staged();
    for (const pod of ['pg-0', 'pg-1']) assert.equal(w.served.get(pod), staged?.['server.crt']);
    // Each lagging pod was annotated once for the new certificate, so a kubelet refreshes its Secret volume now.
    for (const pod of ['pg-0', 'pg-1']) {
      const p = await w.kube.get<k8s.V1Pod>('v1', 'Pod', pod, NS);
      assert.equal(p?.metadata?.annotations?.[SECRET_SYNC_ANNOTATION], secretSyncMark({ certPem: staged!['server.crt']!, ca: '' }), pod);
    }
  });

  it('a CA change reloads every pod in each trust step, though what they serve does not change there', async () => {
    const w = new World();
    await w.setup('ca-a');
    w.createOps('ca', { issuerRef: { name: 'ca-b', kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    const r = w.reconciler();
    const reloadsAt = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const op = await w.ops('ca');
      if (op.status?.phase === 'Successful' || op.status?.phase === 'Failed') break;
      for (const c of op.status?.conditions ?? []) if (!reloadsAt.has(c.type)) reloadsAt.set(c.type, w.reloads.length);
      await r.reconcile({ namespace: NS, name: 'ca' });
      await w.certManager();
      w.clock.advance(1_000);
    }
    const op = await w.ops('ca');
    assert.equal(op.status?.phase, 'Successful');
    for (const c of op.status?.conditions ?? []) if (!reloadsAt.has(c.type)) reloadsAt.set(c.type, w.reloads.length);
    const between = (a: string, b: string) => reloadsAt.get(b)! - reloadsAt.get(a)!;
    assert.ok(between('CertificateSynced', 'TrustBundleUpdated') >= 2, 'both pods reloaded to trust both CAs');
    assert.ok(between('ReloadPods', 'DropOldCA') >= 2, 'both pods reloaded to trust the new CA alone');
  });

  it('restart: deletes one pod, waits (requeue) until its successor is Ready and serving, then the next; resumes after a crash', async () => {
    const w = new World();
    await w.setup();
    const db = await w.db();
    const staged = await readSecret(w.kube, NS, `${DB}-tls-certs`);
    const expect = { certPem: staged!['server.crt']!, ca: staged!['ca.crt']! };
    const mark = memoryMark();
    const done = new Set<string>();
    const onPod = async (p: PodResult) => {
      done.add(p.pod);
    };
    const pass = () => rollPodsPass(w.ctx, postgres, db, expect, done, onPod, mark, 'restart');
    const recreate = (name: string, ready: boolean) => {
      w.kube.seed({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, labels: selectorLabels(postgres.info, DB) },
        spec: { containers: [{ name: 'postgres' }] },
        status: { podIP: w.podIp(name), conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
      });
    };
    const pods = () => w.kube.snapshot<k8s.V1Pod>({ apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespace: NS }).map((p) => p.metadata!.name).sort();

    // One pod (the first in the kind's order) is deleted, nothing else.
    assert.equal((await pass()).done, false);
    const a = parseRestarting(mark.value)!.pod;
    const b = a === 'pg-0' ? 'pg-1' : 'pg-0';
    assert.deepEqual(pods(), [b]);
    // While it is away, or back but not Ready, passes wait and delete nothing more.
    assert.equal((await pass()).done, false);
    recreate(a, false);
    assert.equal((await pass()).done, false);
    assert.deepEqual(pods(), ['pg-0', 'pg-1']);
    recreate(a, true);
    // Ready and serving: recorded, and the next pod is deleted in the same pass.
    assert.equal((await pass()).done, false);
    assert.deepEqual([...done], [a]);
    assert.equal(parseRestarting(mark.value)?.pod, b);

    // An operator that noted the pod but stopped before deleting it: the next pass deletes it.
    recreate(b, true);
    const uid = w.kube.peek<k8s.V1Pod>('v1', 'Pod', b, NS)!.metadata!.uid!;
    mark.value = `${b} ${uid} ${w.clock.now()}`;
    assert.equal((await pass()).done, false);
    assert.deepEqual(pods(), [a]);
    recreate(b, true);
    assert.deepEqual(await pass(), { done: true });
    assert.deepEqual([...done], [a, b]);
    assert.equal(mark.value, undefined);
  });
});
