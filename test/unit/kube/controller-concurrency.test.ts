// Concurrency is bounded and configurable: a controller reconciles at most
// `workers` keys at once, however many are queued; the operator's tuning
// fills in defaults for what is not given.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Controller, type ObjectKey } from '../../../src/kube/controller.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { DEFAULT_TUNING, tuningOf } from '../../../src/operator/manager.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('controller concurrency', () => {
  it('reconciles at most `workers` keys at once; the rest wait in the queue', async () => {
    let active = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const done: string[] = [];
    const c = new Controller('test', {
      async reconcile(k: ObjectKey) {
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((r) => release.push(r));
        active--;
        done.push(k.name);
      },
    }, createLogger('test', 'silent'), { workers: 3 });
    await c.start();
    for (let i = 0; i < 10; i++) c.queue.add(`ns/k${i}`);
    await tick();
    assert.deepEqual(c.depth, { queued: 7, active: 3 });
    for (let round = 0; round < 20 && done.length < 10; round++) {
      for (const r of release.splice(0)) r();
      await tick();
      await tick();
    }
    assert.equal(done.length, 10);
    assert.equal(peak, 3);
    await c.stop();
  });

  it('followThrough: a key that asks to run again at once keeps its worker (bounded), ahead of the queue', async () => {
    const order: string[] = [];
    let passesOfA = 0;
    const c = new Controller('test', {
      async reconcile(k: ObjectKey) {
        order.push(k.name);
        if (k.name !== 'a') return;
        passesOfA++;
        return { requeueAfterMs: passesOfA < 5 ? 0 : 1_000_000 };
      },
    }, createLogger('test', 'silent'), { workers: 1, followThrough: 3 });
    await c.start();
    for (const k of ['a', 'b', 'c']) c.queue.add(`ns/${k}`);
    for (let i = 0; i < 50 && order.length < 7; i++) await tick();
    // Three passes of a in a row (the bound), then a goes behind b and c, and finishes its last two.
    assert.deepEqual(order, ['a', 'a', 'a', 'b', 'c', 'a', 'a']);
    await c.stop();
  });

  it('without followThrough every pass goes back through the queue', async () => {
    const order: string[] = [];
    let passesOfA = 0;
    const c = new Controller('test', {
      async reconcile(k: ObjectKey) {
        order.push(k.name);
        if (k.name === 'a' && ++passesOfA < 3) return { requeueAfterMs: 0 };
      },
    }, createLogger('test', 'silent'), { workers: 1 });
    await c.start();
    for (const k of ['a', 'b', 'c']) c.queue.add(`ns/${k}`);
    for (let i = 0; i < 50 && order.length < 5; i++) await tick();
    assert.deepEqual(order, ['a', 'b', 'c', 'a', 'a']);
    await c.stop();
  });

  it('tuning: defaults for what is not given', () => {
    assert.deepEqual(tuningOf({} as Parameters<typeof tuningOf>[0]), DEFAULT_TUNING);
    assert.deepEqual(tuningOf({ tuning: { workers: 8, resyncMs: undefined } } as Parameters<typeof tuningOf>[0]), { ...DEFAULT_TUNING, workers: 8 });
  });
});
