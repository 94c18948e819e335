// The provisioner's KubeDB lifecycle against the fake API server: finalizer,
// the objects a database gets, Paused leaving it alone, deletionPolicy.
// No pods are seeded, so no probe ever leaves the process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventRecorder } from '../../../src/kube/events.ts';
import { isConditionTrue } from '../../../src/kube/conditions.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import type { DbObject } from '../../../src/api/objects.ts';
import { postgres } from '../../../src/kinds/index.ts';
import { offshootLabels } from '../../../src/kinds/info.ts';
import { DatabaseReconciler } from '../../../src/provisioner/reconciler.ts';
import type { KubeObject } from '../../../src/kube/api.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

function world() {
  const clock = new FakeClock();
  const kube = new FakeKube(clock);
  const ctx = { kube, clock, log: createLogger('test', 'silent'), events: new EventRecorder(kube, 'test', 'test', clock) };
  kube.seed({ apiVersion: 'catalog.kubedb.com/v1alpha1', kind: 'PostgresVersion', metadata: { name: '16' }, spec: { version: '16.4', db: { image: 'postgres:16' } } });
  const r = new DatabaseReconciler(ctx, postgres.provisioner);
  const key = { namespace: 'demo', name: 'pg' };
  const db = () => kube.peek<DbObject>('kubedb.com/v1', 'Postgres', 'pg', 'demo');
  return { kube, r, key, db };
}

const pg = (deletionPolicy: string) => ({
  apiVersion: 'kubedb.com/v1',
  kind: 'Postgres',
  metadata: { name: 'pg', namespace: 'demo' },
  spec: { version: '16', replicas: 1, storageType: 'Ephemeral', deletionPolicy },
});

describe('DatabaseReconciler', () => {
  it('adds its finalizer, then the auth and config secrets, Services and the StatefulSet; status Provisioning', async () => {
    const w = world();
    w.kube.seed(pg('WipeOut'));
    await w.r.reconcile(w.key);
    assert.deepEqual(w.db()?.metadata.finalizers, ['kubedb.com']);
    await w.r.reconcile(w.key);
    for (const [kind, name] of [['Secret', 'pg-auth'], ['Secret', 'pg-config'], ['Secret', 'pg-tls-certs'], ['Service', 'pg'], ['Service', 'pg-pods'], ['StatefulSet', 'pg']] as const) {
      assert.ok(w.kube.peek(kind === 'StatefulSet' ? 'apps/v1' : 'v1', kind, name, 'demo'), `${kind} ${name}`);
    }
    assert.equal(w.db()?.status?.phase, 'Provisioning');
    assert.equal(isConditionTrue(w.db()?.status?.conditions, 'ProvisioningStarted'), true);
    assert.equal(w.db()?.status?.conditions?.find((c) => c.type === 'AcceptingConnection')?.message, 'the primary pod is not ready');
  });

  it('leaves a Paused database to its ops request', async () => {
    const w = world();
    w.kube.seed({ ...pg('Delete'), metadata: { ...pg('Delete').metadata, finalizers: ['kubedb.com'] }, status: { conditions: [{ type: 'Paused', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] } });
    assert.deepEqual(await w.r.reconcile(w.key), { requeueAfterMs: 30_000 });
    assert.equal(w.kube.peek('apps/v1', 'StatefulSet', 'pg', 'demo'), undefined);
  });

  it('WipeOut deletes the workload and the secrets, then lets the object go; DoNotTerminate keeps it', async () => {
    const w = world();
    w.kube.seed(pg('WipeOut'));
    await w.r.reconcile(w.key);
    await w.r.reconcile(w.key);
    await w.kube.delete({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'pg', namespace: 'demo' });
    await w.r.reconcile(w.key);
    assert.equal(w.db(), undefined, 'finalizer removed, object gone');
    assert.equal(w.kube.peek('apps/v1', 'StatefulSet', 'pg', 'demo'), undefined);
    assert.equal(w.kube.peek('v1', 'Secret', 'pg-auth', 'demo'), undefined);

    const k = world();
    k.kube.seed(pg('DoNotTerminate'));
    await k.r.reconcile(k.key);
    await k.kube.delete({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'pg', namespace: 'demo' });
    await k.r.reconcile(k.key);
    assert.ok(k.db()?.metadata.deletionTimestamp, 'kept, waiting for another policy');
  });
});

describe('DatabaseReconciler: ownership, not names (issue 11 item 5)', () => {
  it('WipeOut keeps a user-brought authSecret and a Secret of someone else named as a TLS secret; deletes its own', async () => {
    const w = world();
    w.kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shared-creds', namespace: 'demo' }, data: { username: 'dQ==', password: 'cA==' } });
    w.kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'other-app-tls', namespace: 'demo', labels: { app: 'other' } }, data: {} });
    const spec = { ...pg('WipeOut').spec, authSecret: { name: 'shared-creds' }, tls: { issuerRef: { name: 'ca', kind: 'Issuer', apiGroup: 'cert-manager.io' }, certificates: [{ alias: 'server', secretName: 'other-app-tls' }] } };
    w.kube.seed({ ...pg('WipeOut'), metadata: { ...pg('WipeOut').metadata, uid: 'pg-uid', finalizers: ['kubedb.com'] }, spec });
    // What the provisioner made: owned by the database, or labelled as its offshoot.
    w.kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pg-config', namespace: 'demo', ownerReferences: [{ apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'pg', uid: 'pg-uid' }] }, data: {} });
    w.kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pg-tls-certs', namespace: 'demo', labels: offshootLabels(postgres.info, 'pg') }, data: {} });
    await w.kube.delete({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'pg', namespace: 'demo' });
    await w.r.reconcile(w.key);
    assert.equal(w.db(), undefined, 'deleted');
    assert.ok(w.kube.peek('v1', 'Secret', 'shared-creds', 'demo'), 'the user-brought auth secret is kept');
    assert.ok(w.kube.peek('v1', 'Secret', 'other-app-tls', 'demo'), 'a secret of another app is kept');
    assert.equal(w.kube.peek('v1', 'Secret', 'pg-config', 'demo'), undefined, 'its own config secret goes');
    assert.equal(w.kube.peek('v1', 'Secret', 'pg-tls-certs', 'demo'), undefined, 'its own staged TLS goes');
    const kept = (await w.kube.list<KubeObject & { reason?: string; message?: string }>('v1', 'Event', { namespace: 'demo' })).filter((e) => e.reason === 'SecretKept').map((e) => e.message);
    assert.ok(kept.includes('WipeOut keeps Secret demo/shared-creds: it was not created for Postgres demo/pg'), kept.join('; '));
  });

  it('a foreign pod with the labels and role=primary is not a member: its role label goes, with an Event', async () => {
    const w = world();
    w.kube.seed(pg('Delete'));
    await w.r.reconcile(w.key);
    await w.r.reconcile(w.key);
    const labels = { 'app.kubernetes.io/name': 'postgreses.kubedb.com', 'app.kubernetes.io/instance': 'pg', 'app.kubernetes.io/managed-by': 'kubedb.com', 'kubedb.com/role': 'primary' };
    w.kube.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pg-0', namespace: 'demo', labels }, spec: { containers: [{ name: 'evil' }] }, status: { podIP: '127.0.0.9', conditions: [{ type: 'Ready', status: 'True' }] } });
    await w.r.reconcile(w.key);
    const pod = w.kube.peek<KubeObject>('v1', 'Pod', 'pg-0', 'demo')!;
    assert.equal(pod.metadata?.labels?.['kubedb.com/role'], undefined, 'no longer selected by the primary Service');
    assert.equal(w.db()?.status?.conditions?.find((c) => c.type === 'AcceptingConnection')?.message, 'the primary pod is not ready', 'not probed as the primary');
    const ev = (await w.kube.list<KubeObject & { reason?: string; message?: string }>('v1', 'Event', { namespace: 'demo' })).find((e) => e.reason === 'ForeignPod');
    assert.match(ev?.message ?? '', /pod pg-0 has the labels of Postgres demo\/pg but its StatefulSet does not control it/);
  });
});
