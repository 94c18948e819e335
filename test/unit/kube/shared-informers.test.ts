// Controllers of a term share one informer per resource and selector: one
// cache, one watch; it watches while any of its users runs, and every handler
// gets the true previous version of an update.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SharedInformers } from '../../../src/kube/shared-informers.ts';
import type { KubeObject } from '../../../src/kube/api.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';

const tick = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
const ref = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' };
type Cm = KubeObject & { data?: Record<string, string> };

describe('shared informers', () => {
  it('one informer for the same resource, namespace and selector; another for a different selector', () => {
    const s = new SharedInformers(new FakeKube());
    assert.equal(s.get(ref), s.get({ ...ref }));
    assert.notEqual(s.get(ref), s.get({ ...ref, labelSelector: 'a=b' }));
    assert.notEqual(s.get(ref), s.get({ ...ref, namespace: 'ns' }));
    assert.equal(s.size, 3);
  });

  it('two users: each handler sees the old version; the watch runs until the last user stops', async () => {
    const kube = new FakeKube();
    const inf = new SharedInformers(kube).get<Cm>(ref);
    const a: string[] = [];
    const b: string[] = [];
    inf.onUpdate((o, old) => a.push(`${old?.data?.v}->${o.data?.v}`));
    inf.onUpdate((o, old) => b.push(`${old?.data?.v}->${o.data?.v}`));
    await Promise.all([inf.start(), inf.start()]);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' }, data: { v: '1' } };
    await kube.create(cm);
    await tick();
    await kube.apply({ ...cm, data: { v: '2' } });
    await tick();
    assert.deepEqual(a, ['1->2']);
    assert.deepEqual(b, ['1->2'], 'the second handler got the new object as the old one');
    await inf.stop();
    await kube.apply({ ...cm, data: { v: '3' } });
    await tick();
    assert.deepEqual(a, ['1->2', '2->3'], 'stopped while a user still runs');
    await inf.stop();
    await kube.apply({ ...cm, data: { v: '4' } });
    await tick();
    assert.deepEqual(a, ['1->2', '2->3'], 'still watching after its last user stopped');
  });
});
