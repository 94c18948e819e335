import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { retryBounded } from '../../../src/local/node/retry.ts';
import { FakeClock } from './fake-clock.ts';

const settle = () => new Promise((r) => setImmediate(r));

describe('retryBounded (the node deleting a finished pod object)', () => {
  it('retries a failed call with doubling delays until it succeeds', async () => {
    const clock = new FakeClock();
    const calls: number[] = [];
    const errors: number[] = [];
    const done = retryBounded(
      async () => {
        calls.push(clock.now());
        if (calls.length < 4) throw new Error('503 the API server is busy');
      },
      { clock, attempts: 16, firstDelayMs: 250, maxDelayMs: 10_000, onError: (_e, n) => errors.push(n) },
    );
    for (let i = 0; i < 200; i++) {
      await settle();
      clock.advance(50);
    }
    assert.equal(await done, true);
    assert.equal(calls.length, 4);
    assert.deepEqual(errors, [1, 2, 3]);
    const gaps = calls.slice(1).map((t, i) => t - calls[i]!);
    assert.deepEqual(gaps, [250, 500, 1000]);
  });

  it('gives up after the bound and says so', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const done = retryBounded(
      async () => {
        calls++;
        throw new Error('refused');
      },
      { clock, attempts: 5, firstDelayMs: 100, maxDelayMs: 300, onError: () => {} },
    );
    for (let i = 0; i < 20; i++) {
      await settle();
      clock.advance(1000);
    }
    assert.equal(await done, false);
    assert.equal(calls, 5);
  });
});
