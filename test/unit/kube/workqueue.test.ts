import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../../src/kube/workqueue.ts';

describe('WorkQueue', () => {
  it('queues a key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    q.shutDown();
  });

  it('never hands out a key that is being processed; a re-add waits until done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    assert.equal(q.length, 0, 'a re-add during processing must not be queued yet');
    q.done(k!);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
    q.shutDown();
  });

  it('backs off exponentially per key and forgets on success', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
    assert.deepEqual([q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')], [10, 20, 40, 50]);
    assert.equal(q.retries('a'), 4);
    q.forget('a');
    assert.equal(q.retries('a'), 0);
    q.shutDown();
  });

  it('delivers delayed adds after the delay, and wakes waiting workers; shutDown releases them', async () => {
    const q = new WorkQueue();
    const t0 = Date.now();
    const got = q.get();
    q.addAfter('x', 50);
    assert.equal(await got, 'x');
    assert.ok(Date.now() - t0 >= 45);
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
  });
});
