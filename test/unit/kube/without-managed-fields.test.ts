import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withoutManagedFields } from '../../../src/kube/client.ts';

test('withoutManagedFields drops metadata.managedFields only, and leaves the input as it was', () => {
  const o = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' }, managedFields: [{ manager: 'kubelet' }] }, status: { phase: 'Running' } };
  assert.deepEqual(withoutManagedFields(o), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' } }, status: { phase: 'Running' } });
  assert.equal(o.metadata.managedFields.length, 1);
  const bare = { metadata: { name: 'q' } };
  assert.equal(withoutManagedFields(bare), bare);
  assert.deepEqual(withoutManagedFields({ kind: 'Status', code: 410 }), { kind: 'Status', code: 410 });
});
