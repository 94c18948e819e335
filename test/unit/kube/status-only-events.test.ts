// A controller that alone writes its objects' status skips the echo of those
// writes (ignoreStatusOnly): at 100 ops requests at once, every status write
// otherwise bought one more pass. Spec, metadata and deletion still wake it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Controller, statusOnlyChange, type ObjectKey } from '../../../src/kube/controller.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('status-only updates', () => {
  it('statusOnlyChange: same generation, labels, annotations, finalizers and deletion mark', () => {
    const base = { metadata: { name: 'a', generation: 2, resourceVersion: '5', labels: { x: '1' }, finalizers: ['f'] }, status: { phase: 'Progressing' } };
    assert.equal(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, resourceVersion: '6' }, status: { phase: 'Successful' } }), true);
    assert.equal(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, generation: 3 } }), false);
    assert.equal(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, labels: { x: '2' } } }), false);
    assert.equal(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, annotations: { y: '1' } } }), false);
    assert.equal(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, finalizers: [] } }), false);
    assert.equal(statusOnlyChange(base, { ...base, metadata: { ...base.metadata, deletionTimestamp: '2026-11-30T00:00:00Z' } }), false);
    // Without a generation nothing can be told apart: every update counts.
    assert.equal(statusOnlyChange({ metadata: { name: 'a' } }, { metadata: { name: 'a' }, status: {} }), false);
  });

  for (const ignoreStatusOnly of [true, false]) {
    it(`watchFor(ignoreStatusOnly: ${ignoreStatusOnly}): a status write ${ignoreStatusOnly ? 'does not wake' : 'wakes'} the controller; spec, metadata and deletion do`, async () => {
      const kube = new FakeKube();
      const seen: string[] = [];
      const inf = new Informer<{ apiVersion: string; kind: string; metadata: { name: string; namespace: string } }>(kube, { apiVersion: 'example.com/v1', kind: 'Thing', plural: 'things' });
      const c = new Controller('test', { reconcile: async (k: ObjectKey) => void seen.push(k.name) }, createLogger('test', 'silent'), { workers: 1 }).watchFor(inf, { ignoreStatusOnly });
      await c.start();
      const ref = { apiVersion: 'example.com/v1', kind: 'Thing', name: 't', namespace: 'ns' };
      const settle = async (n: number) => {
        for (let i = 0; i < 50 && seen.length < n; i++) await tick();
        for (let i = 0; i < 5; i++) await tick();
      };
      await kube.create({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 't', namespace: 'ns' }, spec: { a: 1 } });
      await settle(1);
      assert.equal(seen.length, 1, 'add');
      await kube.patchStatus(ref, { phase: 'Progressing' });
      await settle(ignoreStatusOnly ? 1 : 2);
      assert.equal(seen.length, ignoreStatusOnly ? 1 : 2, 'status only');
      const before = seen.length;
      await kube.patch(ref, { spec: { a: 2 } });
      await settle(before + 1);
      assert.equal(seen.length, before + 1, 'spec');
      await kube.patch(ref, { metadata: { finalizers: ['f'] } });
      await settle(before + 2);
      assert.equal(seen.length, before + 2, 'finalizers');
      await kube.delete(ref);
      await settle(before + 3);
      assert.ok(seen.length >= before + 3, 'deletion');
      await c.stop();
    });
  }
});
