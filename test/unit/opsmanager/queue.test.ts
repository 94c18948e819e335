import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type OpSummary } from '../../../src/opsmanager/queue.ts';

const op = (name: string, type: string, t: number, phase?: string): OpSummary => ({
  name,
  namespace: 'demo',
  type,
  phase,
  creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, t)).toISOString(),
});

describe('ops-request queue', () => {
  it('waits while another request for the database is Progressing', () => {
    const a = op('a', 'ReconfigureTLS', 1, 'Progressing');
    const b = op('b', 'Restart', 2);
    assert.deepEqual(decide(b, [a, b], 'PostgresOpsRequest'), { action: 'wait', reason: 'demo/a is Progressing' });
  });

  it('skips a Pending request superseded by a newer one of the same type, with KubeDB message', () => {
    const a = op('a', 'ReconfigureTLS', 1);
    const b = op('b', 'ReconfigureTLS', 2);
    const d = decide(a, [a, b], 'PostgresOpsRequest');
    assert.equal(d.action, 'skip');
    assert.match((d as { message: string }).message, /^skipped as demo\/b is the most updated PostgresOpsRequest of type ReconfigureTLS at 2026-01-01T00:00:02/);
    assert.deepEqual(decide(b, [a, b], 'PostgresOpsRequest'), { action: 'run' });
  });

  it('skips a Pending request when a newer one of the same type already ran (admitted while this one waited)', () => {
    const a = op('a', 'ReconfigureTLS', 1);
    const b = op('b', 'ReconfigureTLS', 2, 'Successful');
    assert.equal(decide(a, [a, b], 'PostgresOpsRequest').action, 'skip');
    assert.equal(decide(a, [a, { ...b, phase: 'Failed' }], 'PostgresOpsRequest').action, 'run', 'a failed newer request does not supersede');
  });

  it('breaks creation-time ties by the larger name', () => {
    const a = op('a', 'ReconfigureTLS', 1);
    const b = op('b', 'ReconfigureTLS', 1);
    assert.equal(decide(a, [a, b], 'X').action, 'skip');
    assert.equal(decide(b, [a, b], 'X').action, 'run');
  });

  it('runs the oldest first across types', () => {
    const a = op('a', 'Restart', 1);
    const b = op('b', 'ReconfigureTLS', 2);
    assert.equal(decide(b, [a, b], 'X').action, 'wait');
    assert.equal(decide(a, [a, b], 'X').action, 'run');
    // Finished requests do not block anybody.
    assert.equal(decide(b, [{ ...a, phase: 'Successful' }, b], 'X').action, 'run');
  });
});
