import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isConditionTrue, newCondition, removeCondition, setCondition } from '../../../src/kube/conditions.ts';

describe('conditions (kmodules SetCondition semantics)', () => {
  it('replaces by type and keeps lastTransitionTime when nothing changed', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T00:01:00Z');
    let c = setCondition([], newCondition('Ready', 'ok', 1), t1);
    c = setCondition(c, newCondition('Ready', 'ok', 1), t2);
    assert.equal(c.length, 1);
    assert.equal(c[0]!.lastTransitionTime, t1.toISOString());
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'NotReady', message: 'x' }, t2);
    assert.equal(c[0]!.lastTransitionTime, t2.toISOString());
    assert.equal(isConditionTrue(c, 'Ready'), false);
  });

  it('NewCondition sets type == reason, status True; remove drops by type', () => {
    const c = setCondition(undefined, newCondition('Paused', 'paused by ops'));
    assert.deepEqual({ type: c[0]!.type, reason: c[0]!.reason, status: c[0]!.status }, { type: 'Paused', reason: 'Paused', status: 'True' });
    assert.equal(isConditionTrue(c, 'Paused'), true);
    assert.deepEqual(removeCondition(c, 'Paused'), []);
  });
});
