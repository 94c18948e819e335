// The fake API server behaves as the reconcilers rely on the real one to.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isConflict, statusCode, type KubeObject } from '../../../src/kube/api.ts';
import { FakeKube, matchesSelector } from '../../helpers/fake-kube.ts';

const pod = (name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', labels }, spec: { containers: [] } });

describe('FakeKube', () => {
  it('get of a missing object is undefined; create twice is 409; patch of a missing one is 404', async () => {
    const k = new FakeKube();
    assert.equal(await k.get('v1', 'Secret', 'a', 'ns'), undefined);
    await k.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'ns' }, data: { x: 'eA==' } });
    await assert.rejects(k.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'ns' } }), (e) => isConflict(e));
    await assert.rejects(k.patch({ apiVersion: 'v1', kind: 'Secret', name: 'b', namespace: 'ns' }, { data: {} }), (e) => statusCode(e) === 404);
    assert.equal(await k.delete({ apiVersion: 'v1', kind: 'Secret', name: 'b', namespace: 'ns' }), false);
  });

  it('a write with an old resourceVersion is a 409, status included', async () => {
    const k = new FakeKube();
    const created = await k.create<KubeObject>({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'pg', namespace: 'ns' }, spec: { version: '16' } });
    const ref = { apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'pg', namespace: 'ns' };
    const moved = await k.patchStatus(ref, { phase: 'Provisioning' }, { resourceVersion: created.metadata!.resourceVersion });
    await assert.rejects(k.patchStatus(ref, { phase: 'Ready' }, { resourceVersion: created.metadata!.resourceVersion }), (e) => isConflict(e));
    await assert.rejects(k.patch(ref, { metadata: { resourceVersion: created.metadata!.resourceVersion }, spec: { halted: true } }), (e) => isConflict(e));
    await k.patch(ref, { metadata: { resourceVersion: moved.metadata!.resourceVersion }, spec: { halted: true } });
    const got = await k.get<{ spec: { version: string; halted: boolean }; status: { phase: string }; metadata: { generation: number } }>('kubedb.com/v1', 'Postgres', 'pg', 'ns');
    assert.deepEqual(got?.spec, { version: '16', halted: true });
    assert.equal(got?.status.phase, 'Provisioning');
    assert.equal(got?.metadata.generation, 2, 'a spec change moves the generation');
  });

  it('status is a subresource: create and patch ignore it, patchStatus writes it', async () => {
    const k = new FakeKube();
    await k.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, status: { podIP: '10.0.0.1' } });
    const ref = { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'ns' };
    assert.equal((await k.get('v1', 'Pod', 'p', 'ns'))?.status, undefined);
    await k.patch(ref, { status: { podIP: 'x' } });
    assert.equal((await k.get('v1', 'Pod', 'p', 'ns'))?.status, undefined);
    await k.patchStatus(ref, { podIP: '10.0.0.2' });
    assert.deepEqual((await k.get('v1', 'Pod', 'p', 'ns'))?.status, { podIP: '10.0.0.2' });
  });

  it('lists by namespace and label selector', async () => {
    const k = new FakeKube();
    k.seed(pod('a-0', { app: 'a', role: 'primary' }));
    k.seed(pod('a-1', { app: 'a', role: 'standby' }));
    k.seed(pod('b-0', { app: 'b' }));
    const names = async (sel: string | Record<string, string>) => (await k.list('v1', 'Pod', { namespace: 'ns', labelSelector: sel })).map((p) => p.metadata!.name).sort();
    assert.deepEqual(await names({ app: 'a' }), ['a-0', 'a-1']);
    assert.deepEqual(await names('app=a,role!=primary'), ['a-1']);
    assert.deepEqual(await names('!role'), ['b-0']);
    assert.deepEqual(await k.list('v1', 'Pod', { namespace: 'other' }), []);
    assert.equal(matchesSelector({ a: '1' }, 'a'), true);
  });

  it('server-side apply replaces the fields it sends and keeps labels it does not', async () => {
    const k = new FakeKube();
    const s = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns', labels: { a: '1' } }, data: { x: '1', y: '2' } };
    await k.apply(s);
    const first = await k.get('v1', 'Secret', 's', 'ns');
    await k.apply(s);
    assert.equal((await k.get('v1', 'Secret', 's', 'ns'))?.metadata?.resourceVersion, first?.metadata?.resourceVersion, 'an unchanged apply writes nothing');
    await k.apply({ ...s, metadata: { ...s.metadata, labels: { b: '2' } }, data: { x: '3' } });
    const got = await k.get('v1', 'Secret', 's', 'ns');
    assert.deepEqual(got?.data, { x: '3' });
    assert.deepEqual(got?.metadata?.labels, { a: '1', b: '2' });
  });

  it('finalizers hold a deleted object until they are removed', async () => {
    const k = new FakeKube();
    await k.create({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'pg', namespace: 'ns', finalizers: ['kubedb.com'] }, spec: {} });
    const ref = { apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'pg', namespace: 'ns' };
    assert.equal(await k.delete(ref), true);
    assert.ok((await k.get('kubedb.com/v1', 'Postgres', 'pg', 'ns'))?.metadata?.deletionTimestamp);
    await k.patch(ref, { metadata: { finalizers: [] } });
    assert.equal(await k.get('kubedb.com/v1', 'Postgres', 'pg', 'ns'), undefined);
  });

  it('watches list first, then follow changes that match', async () => {
    const k = new FakeKube();
    k.seed(pod('a-0', { app: 'a' }));
    const w = k.watch({ apiVersion: 'v1', kind: 'Pod', plural: 'pods', labelSelector: 'app=a' });
    const seen: string[] = [];
    w.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    w.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    w.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    await w.start();
    k.seed(pod('b-0', { app: 'b' }));
    await k.patch({ apiVersion: 'v1', kind: 'Pod', name: 'a-0', namespace: 'ns' }, { metadata: { labels: { x: 'y' } } });
    await k.delete({ apiVersion: 'v1', kind: 'Pod', name: 'a-0', namespace: 'ns' });
    await w.stop();
    assert.deepEqual(seen, ['add a-0', 'update a-0', 'delete a-0']);
    assert.deepEqual(w.list(), []);
  });

  it('faults can be injected per call', async () => {
    const k = new FakeKube();
    const remove = k.intercept((verb) => (verb === 'create' ? new Error('boom') : undefined));
    await assert.rejects(k.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'ns' } }), /boom/);
    remove();
    await k.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'ns' } });
  });
});
