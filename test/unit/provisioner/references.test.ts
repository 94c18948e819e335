// Issue 11 item 1, the provisioner's side: a pooler's backend in another
// namespace is read only while it opts in; withdrawing the opt-in removes the
// credentials copied from it. Against the fake API server, no pods.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventRecorder } from '../../../src/kube/events.ts';
import type { KubeObject } from '../../../src/kube/api.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { pgbouncer } from '../../../src/kinds/index.ts';
import { DatabaseReconciler } from '../../../src/provisioner/reconciler.ts';
import { readSecret } from '../../../src/provisioner/objects.ts';
import { ALLOWED_POOLER_NAMESPACES } from '../../../src/api/shared/reference-grant.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const PASSWORD = 'team-b-superuser-password';

function world() {
  const clock = new FakeClock();
  const kube = new FakeKube(clock);
  const ctx = { kube, clock, log: createLogger('test', 'silent'), events: new EventRecorder(kube, 'test', 'test', clock) };
  kube.seed({ apiVersion: 'catalog.kubedb.com/v1alpha1', kind: 'PgBouncerVersion', metadata: { name: '1.18.0' }, spec: { version: '1.18.0', pgBouncer: { image: 'pgbouncer:1.18.0' } } });
  kube.seed({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'prod', namespace: 'team-b' }, spec: { version: '16', authSecret: { name: 'prod-auth' }, sslMode: 'disable' } });
  kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'prod-auth', namespace: 'team-b' }, data: { username: b64('postgres'), password: b64(PASSWORD) } });
  kube.seed({
    apiVersion: 'kubedb.com/v1',
    kind: 'PgBouncer',
    metadata: { name: 'pb', namespace: 'team-a', finalizers: ['kubedb.com'] },
    spec: { version: '1.18.0', replicas: 1, sslMode: 'disable', database: { syncUsers: true, databaseName: 'postgres', databaseRef: { namespace: 'team-b', name: 'prod' } }, connectionPool: { port: 5432, authType: 'md5' } },
  });
  const r = new DatabaseReconciler(ctx, pgbouncer.provisioner);
  const grant = (value: string | null) =>
    kube.patch({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'prod', namespace: 'team-b' }, { metadata: { annotations: { [ALLOWED_POOLER_NAMESPACES]: value } } });
  /** Every Secret value in team-a, decoded: where a copied password would show. */
  const teamA = async () => {
    const all = await kube.list<KubeObject>('v1', 'Secret', { namespace: 'team-a' });
    return all.flatMap((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString()));
  };
  const events = async () => (await kube.list<KubeObject & { reason?: string; message?: string }>('v1', 'Event', { namespace: 'team-a' })).map((e) => `${e.reason}: ${e.message}`);
  return { kube, r, grant, teamA, events, key: { namespace: 'team-a', name: 'pb' } };
}

describe('pooler backend in another namespace (provisioner)', () => {
  it('without the opt-in nothing is read from the backend; with it the pooler gets the users; withdrawn, the copy goes', async () => {
    const w = world();
    await w.r.reconcile(w.key);
    assert.ok(!(await w.teamA()).some((v) => v.includes(PASSWORD)), 'no password copied into team-a');
    assert.equal(w.kube.peek('v1', 'Secret', 'pb-config', 'team-a'), undefined);
    assert.deepEqual((await w.events()).filter((e) => e.startsWith('ReferenceRefused')), [
      'ReferenceRefused: Postgres team-b/prod does not accept poolers from namespace "team-a": its owner opts in with the annotation pgtls.dev/allowed-pooler-namespaces: "team-a" on it',
    ]);

    await w.grant('team-a');
    await w.r.reconcile(w.key);
    const userlist = (await readSecret(w.kube, 'team-a', 'pb-config'))?.['userlist.txt'] ?? '';
    assert.match(userlist, new RegExp(`"postgres" "${PASSWORD}"`), 'granted: the backend users are served');

    await w.grant(null);
    await w.r.reconcile(w.key);
    assert.equal(w.kube.peek('v1', 'Secret', 'pb-config', 'team-a'), undefined, 'the copied credentials are removed');
    assert.ok(!(await w.teamA()).some((v) => v.includes(PASSWORD)));
    assert.ok((await w.events()).some((e) => e.endsWith('on it; the credentials copied from it were removed')), (await w.events()).join('\n'));
  });
});
