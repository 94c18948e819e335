// Idle databases cost no API writes: the provisioner re-applies its whole
// desired state on every pass, and SkipUnchangedApply (the operator's client)
// sends only the applies that would change something.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventRecorder } from '../../../src/kube/events.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { postgres } from '../../../src/kinds/index.ts';
import { DatabaseReconciler } from '../../../src/provisioner/reconciler.ts';
import { liveMark, SkipUnchangedApply, stableJson } from '../../../src/kube/skip-unchanged-apply.ts';
import type { KubeClient } from '../../../src/kube/api.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

const WRITES = new Set(['create', 'apply', 'patch', 'patchStatus', 'delete']);

function world(wrap: boolean) {
  const clock = new FakeClock();
  const fake = new FakeKube(clock);
  fake.sortKeys = true;
  const kube: KubeClient = wrap ? new SkipUnchangedApply(fake) : fake;
  const ctx = { kube, clock, log: createLogger('test', 'silent'), events: new EventRecorder(kube, 'test', 'test', clock) };
  fake.seed({ apiVersion: 'catalog.kubedb.com/v1alpha1', kind: 'PostgresVersion', metadata: { name: '16' }, spec: { version: '16.4', db: { image: 'postgres:16' } } });
  fake.seed({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'pg', namespace: 'demo' }, spec: { version: '16', replicas: 1, storageType: 'Ephemeral', deletionPolicy: 'WipeOut' } });
  const r = new DatabaseReconciler(ctx, postgres.provisioner);
  const key = { namespace: 'demo', name: 'pg' };
  /** Writes the next `passes` reconciles make. */
  const writesOver = async (passes: number) => {
    const from = fake.calls.length;
    for (let i = 0; i < passes; i++) await r.reconcile(key);
    return fake.calls.slice(from).filter((c) => WRITES.has(c.verb));
  };
  return { fake, kube, r, key, writesOver };
}

describe('SkipUnchangedApply', () => {
  it('a provisioned database at rest costs no writes, where the plain client re-applies every object each pass', async () => {
    const plain = world(false);
    await plain.writesOver(3);
    assert.ok((await plain.writesOver(5)).length >= 5 * 6, 'the plain client re-applies Secrets, Services and the StatefulSet on every pass');

    const w = world(true);
    const first = await w.writesOver(3);
    assert.ok(first.some((c) => c.verb === 'apply' && c.ref === 'StatefulSet demo/pg'), 'the first passes create the objects');
    assert.deepEqual(await w.writesOver(5), [], 'then nothing is written while nothing changes');
  });

  it('puts back what someone else changed, and applies what the spec changes', async () => {
    const w = world(true);
    await w.writesOver(3);
    const cfg = w.fake.peek<{ data: Record<string, string> }>('v1', 'Secret', 'pg-config', 'demo')!;
    await w.fake.patch({ apiVersion: 'v1', kind: 'Secret', name: 'pg-config', namespace: 'demo' }, { data: { 'postgresql.conf': Buffer.from('ssl = off\n').toString('base64') } });
    const repaired = await w.writesOver(1);
    assert.deepEqual(repaired.map((c) => c.ref), ['Secret demo/pg-config']);
    assert.deepEqual(w.fake.peek<{ data: Record<string, string> }>('v1', 'Secret', 'pg-config', 'demo')!.data, cfg.data);

    await w.fake.patch({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'pg', namespace: 'demo' }, { spec: { replicas: 3 } });
    const scaled = await w.writesOver(1);
    assert.ok(scaled.some((c) => c.verb === 'apply' && c.ref === 'StatefulSet demo/pg'));
    assert.equal(w.fake.peek<{ spec: { replicas: number } }>('apps/v1', 'StatefulSet', 'pg', 'demo')!.spec.replicas, 3);
    assert.deepEqual((await w.writesOver(2)).filter((c) => c.verb === 'apply'), []);
  });

  it('does not re-apply an object whose status others write, and re-creates one that was deleted', async () => {
    const w = world(true);
    await w.writesOver(3);
    const sts = w.fake.peek<{ status?: unknown }>('apps/v1', 'StatefulSet', 'pg', 'demo')!;
    w.fake.seed({ ...sts, status: { replicas: 1, readyReplicas: 0, updateRevision: 'pg-1' } });
    assert.deepEqual((await w.writesOver(2)).filter((c) => c.verb === 'apply'), [], 'a status write by the StatefulSet controller is not drift');
    await w.fake.delete({ apiVersion: 'v1', kind: 'Service', name: 'pg-pods', namespace: 'demo' });
    assert.deepEqual((await w.writesOver(1)).map((c) => c.ref), ['Service demo/pg-pods']);
    assert.ok(w.fake.peek('v1', 'Service', 'pg-pods', 'demo'));
  });

  it('remembers a bounded number of objects', async () => {
    const fake = new FakeKube();
    const kube = new SkipUnchangedApply(fake, 3);
    for (let i = 0; i < 10; i++) await kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'demo' }, data: { i: String(i) } });
    assert.equal(kube.size, 3);
    assert.deepEqual(kube.stats, { applied: 10, skipped: 0 });
    await kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c9', namespace: 'demo' }, data: { i: '9' } });
    assert.deepEqual(kube.stats, { applied: 10, skipped: 1 });
  });

  it('hashes objects whatever their key order; marks status-bearing objects by generation', () => {
    assert.equal(stableJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } }), stableJson({ a: { d: [1, { e: 3, f: 2 }] }, b: 1 }));
    const base = { kind: 'StatefulSet', metadata: { uid: 'u', generation: 2, resourceVersion: '5', labels: { a: 'b' } } };
    assert.equal(liveMark(base), liveMark({ ...base, metadata: { ...base.metadata, resourceVersion: '9' }, status: { x: 2 } }));
    assert.notEqual(liveMark(base), liveMark({ ...base, metadata: { ...base.metadata, labels: {} } }));
    assert.notEqual(liveMark(base), liveMark({ ...base, metadata: { ...base.metadata, generation: 3 } }));
    const secret = { ...base, kind: 'Secret' };
    assert.notEqual(liveMark(secret), liveMark({ ...secret, metadata: { ...secret.metadata, resourceVersion: '9' } }));
  });
});
