// The controller runtime against the real API server: informers, the
// reconcile loop with back-off, Events, and leader election.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statusCode } from '../../src/kube/client.ts';
import { k8s } from '../../src/kube/client-node.ts';
import { Informer } from '../../src/kube/informer.ts';
import { Controller, type ObjectKey } from '../../src/kube/controller.ts';
import { EventRecorder } from '../../src/kube/events.ts';
import { LeaderElector } from '../../src/kube/leader-election.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/exec.ts';

const NS = 'rt';
const log = createLogger('test', 'silent');

describe('controller runtime against the real API server', { timeout: 10 * 60_000 }, () => {
  let c: TestCluster;
  let core: k8s.CoreV1Api;
  before(async () => {
    // No operator: the controller runtime runs in this process.
    c = await startTestCluster({ operator: false });
    core = c.kube.api(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
  });
  after(async () => {
    await c?.destroy();
  });

  it('an informer lists, then sees adds, updates (with the old object) and deletes', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'pre' }, data: { v: '0' } } });
    const seen: string[] = [];
    const inf = new Informer<k8s.V1ConfigMap>(c.kube, { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: NS });
    inf.onAdd((o) => seen.push(`add:${o.metadata!.name}`));
    inf.onUpdate((o, old) => seen.push(`update:${o.metadata!.name}:${old?.data?.v}->${o.data?.v}`));
    inf.onDelete((o) => seen.push(`delete:${o.metadata!.name}`));
    await inf.start();
    try {
      await eventually('the initial list', async () => seen.includes('add:pre'));
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'cm' }, data: { v: '1' } } });
      await core.replaceNamespacedConfigMap({ name: 'cm', namespace: NS, body: { metadata: { name: 'cm' }, data: { v: '2' } } });
      await core.deleteNamespacedConfigMap({ name: 'cm', namespace: NS });
      await eventually('add, update and delete', async () => seen.includes('delete:cm'));
      assert.deepEqual(seen.filter((s) => s.includes(':cm')), ['add:cm', 'update:cm:1->2', 'delete:cm']);
      assert.equal(inf.get('pre', NS)?.data?.v, '0');
      // The cache keeps objects without managedFields (listed and watched alike); the API server sends them.
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'watched' }, data: { v: '1' } } });
      await eventually('the watched add', async () => seen.includes('add:watched'));
      assert.ok((await core.readNamespacedConfigMap({ name: 'pre', namespace: NS })).metadata?.managedFields?.length, 'the API server sends managedFields');
      for (const name of ['pre', 'watched']) assert.equal(inf.get(name, NS)?.metadata?.managedFields, undefined, `${name} cached with its managedFields`);
    } finally {
      await inf.stop();
    }
  });

  it('a controller converges level-triggered, retries failures with back-off, and requeues', async () => {
    // Desired state: every ConfigMap labelled copy=yes has a Secret of the same name with its data.
    let failuresLeft = 2;
    const attempts: string[] = [];
    const cms = new Informer<k8s.V1ConfigMap>(c.kube, { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: NS, labelSelector: 'copy=yes' });
    const secrets = new Informer<k8s.V1Secret>(c.kube, { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespace: NS });
    const reconciler = {
      async reconcile(key: ObjectKey) {
        attempts.push(key.name);
        if (key.name === 'flaky' && failuresLeft-- > 0) throw new Error('transient');
        const cm = cms.get(key.name, key.namespace);
        if (!cm) return;
        await c.kube.apply({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: key.name,
            namespace: key.namespace,
            ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: key.name, uid: cm.metadata!.uid!, controller: true }],
          },
          stringData: cm.data ?? {},
        });
      },
    };
    const ctl = new Controller('copy', reconciler, log, { baseDelayMs: 100 }).watchFor(cms).watchOwned(secrets, 'ConfigMap');
    await ctl.start();
    try {
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'ok', labels: { copy: 'yes' } }, data: { a: '1' } } });
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'flaky', labels: { copy: 'yes' } }, data: { b: '2' } } });
      for (const name of ['ok', 'flaky']) {
        await eventually(`secret ${name}`, async () => (await core.readNamespacedSecret({ name, namespace: NS }).catch(() => undefined)) ?? undefined, 30_000);
      }
      assert.ok(attempts.filter((a) => a === 'flaky').length >= 3, attempts.join(','));
      // Level-triggered: deleting the owned Secret brings it back.
      await core.deleteNamespacedSecret({ name: 'ok', namespace: NS });
      const back = await eventually('secret ok recreated', async () => (await core.readNamespacedSecret({ name: 'ok', namespace: NS }).catch(() => undefined)) ?? undefined, 30_000);
      assert.equal(Buffer.from(back.data!.a!, 'base64').toString(), '1');
    } finally {
      await ctl.stop();
    }
  });

  it('records Events that kubectl describe shows, counting repeats', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'evented' } } });
    const rec = new EventRecorder(c.kube, 'pgtls-test');
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', metadata: cm.metadata! };
    await rec.record(ref, 'Normal', 'Starting', 'Start processing');
    await rec.record(ref, 'Normal', 'Starting', 'Start processing');
    await rec.record(ref, 'Warning', 'Failed', 'something broke');
    const out = await c.kubectlOk(['-n', NS, 'describe', 'configmap', 'evented']);
    assert.match(out, /Normal\s+Starting\s+.*\(x2 over .*\)\s+pgtls-test\s+Start processing/);
    assert.match(out, /Warning\s+Failed\s+.*pgtls-test\s+something broke/);
  });

  it('elects one leader among two; the standby takes over when the leader steps down', async () => {
    const cfg = { namespace: NS, name: 'op-lock', leaseDurationSeconds: 3, retryPeriodMs: 300, renewDeadlineMs: 2000 };
    const a = new LeaderElector(c.kube, { ...cfg, identity: 'a' });
    const b = new LeaderElector(c.kube, { ...cfg, identity: 'b' });
    const events: string[] = [];
    const runA = a.run(() => void events.push('a-start'), () => void events.push('a-stop'));
    await eventually('a to lead', async () => a.isLeader);
    const runB = b.run(() => void events.push('b-start'), () => void events.push('b-stop'));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(b.isLeader, false, 'b must not lead while a renews');
    const lease = await c.kube.api(k8s.CoordinationV1Api).readNamespacedLease({ name: 'op-lock', namespace: NS });
    assert.equal(lease.spec!.holderIdentity, 'a');
    await a.stop();
    await runA;
    await eventually('b to take over', async () => b.isLeader, 15_000);
    assert.deepEqual(events, ['a-start', 'b-start']);
    await b.stop();
    await runB;
    await assert.rejects(c.kube.api(k8s.CoordinationV1Api).readNamespacedLease({ name: 'nope', namespace: NS }), (e) => statusCode(e) === 404);
  });
});
