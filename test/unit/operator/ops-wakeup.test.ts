// A request waiting on cert-manager is woken by its Certificates' changes
// (the ops controller maps a Certificate to the Progressing requests of its
// database) instead of polling every second.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestsInProgressFor } from '../../../src/operator/controllers.ts';
import type { OpsObject } from '../../../src/api/objects.ts';

const op = (name: string, ns: string, db: string, phase?: string) => ({ metadata: { name, namespace: ns }, spec: { type: 'ReconfigureTLS', databaseRef: { name: db } }, status: phase ? { phase } : undefined }) as unknown as OpsObject;
const cert = (ns: string, instance?: string) => ({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c', namespace: ns, labels: instance ? { 'app.kubernetes.io/instance': instance } : ({} as Record<string, string>) } });

describe('Certificate → the requests it may unblock', () => {
  const ops = [op('rot', 'a', 'pg', 'Progressing'), op('old', 'a', 'pg', 'Successful'), op('next', 'a', 'pg'), op('other', 'a', 'pg2', 'Progressing'), op('elsewhere', 'b', 'pg', 'Progressing')];

  it('only the Progressing request of that database, in that namespace', () => {
    assert.deepEqual(requestsInProgressFor(ops, cert('a', 'pg')), [{ namespace: 'a', name: 'rot' }]);
    assert.deepEqual(requestsInProgressFor(ops, cert('b', 'pg')), [{ namespace: 'b', name: 'elsewhere' }]);
  });

  it('nothing for a Certificate without the instance label, or a database with no request in progress', () => {
    assert.deepEqual(requestsInProgressFor(ops, cert('a')), []);
    assert.deepEqual(requestsInProgressFor(ops, cert('a', 'pg3')), []);
  });
});
