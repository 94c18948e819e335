// Pgpool's config secret against the fake API server: KubeDB's backends (the
// primary Service, the standby Service when there is a standby), the check user
// from the backend's auth, syncUsers from labelled Secrets, and the pool sizes
// of spec.configuration (inline and its secret).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventRecorder } from '../../../src/kube/events.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import type { KubeObject } from '../../../src/kube/api.ts';
import { pgpoolConfigFiles, type PgpoolDb } from '../../../src/provisioner/pgpool/provisioner.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (name: string, data: Record<string, string>, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'demo', labels },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});
const SYNC_LABELS = { 'app.kubernetes.io/instance': 'ha-postgres', 'app.kubernetes.io/name': 'postgreses.kubedb.com' };

function world(replicas: number) {
  const clock = new FakeClock();
  const kube = new FakeKube(clock);
  const ctx = { kube, clock, log: createLogger('test', 'silent'), events: new EventRecorder(kube, 'test', 'test', clock) };
  kube.seed({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'ha-postgres', namespace: 'demo' }, spec: { version: '15', replicas, storageType: 'Ephemeral' } });
  kube.seed(secret('ha-postgres-auth', { username: 'postgres', password: 'pg-pw' }, SYNC_LABELS));
  kube.seed(secret('pgpool-auth', { username: 'pcp', password: 'pcp-pw' }));
  const pp = (spec: Record<string, unknown> = {}): PgpoolDb =>
    ({ apiVersion: 'kubedb.com/v1alpha2', kind: 'Pgpool', metadata: { name: 'pgpool', namespace: 'demo' }, spec: { version: '4.3.5', postgresRef: { name: 'ha-postgres', namespace: 'demo' }, ...spec } }) as unknown as PgpoolDb;
  return { kube, ctx, pp };
}

const lines = (text: string) => text.split('\n');

describe('Pgpool config from the backend and the spec', () => {
  it("a 3-replica backend: the guide's backends, streaming replication, the check user from the backend's auth", async () => {
    const w = world(3);
    const f = await pgpoolConfigFiles(w.ctx, w.pp());
    for (const l of [
      "backend_hostname0 = 'ha-postgres.demo.svc'",
      "backend_flag0 = 'ALWAYS_PRIMARY|DISALLOW_TO_FAILOVER'",
      "backend_hostname1 = 'ha-postgres-standby.demo.svc'",
      "backend_flag1 = 'DISALLOW_TO_FAILOVER'",
      "backend_clustering_mode = 'streaming_replication'",
      'load_balance_mode = on',
      'num_init_children = 5',
      'max_pool = 15',
      "sr_check_user = 'postgres'",
      "health_check_user = 'postgres'",
    ]) assert.ok(lines(f['pgpool.conf']!).includes(l), `missing ${l}`);
    assert.equal(f['pool_passwd'], 'postgres:TEXTpg-pw\n');
    assert.doesNotMatch(f['pgpool.conf']!, /pg-pw/);
  });

  it('a 1-replica backend has no standby to read from: backend 0 only', async () => {
    const w = world(1);
    const f = await pgpoolConfigFiles(w.ctx, w.pp());
    assert.match(f['pgpool.conf']!, /^backend_hostname0 = 'ha-postgres\.demo\.svc'$/m);
    assert.doesNotMatch(f['pgpool.conf']!, /backend_hostname1/);
  });

  it('syncUsers: labelled Secrets with username and password join pool_passwd; others do not; off without syncUsers', async () => {
    const w = world(2);
    w.kube.seed(secret('sync-secret', { username: 'john', password: '12345' }, SYNC_LABELS));
    w.kube.seed(secret('alice', { username: 'alice', password: 'a-pw' }, SYNC_LABELS));
    w.kube.seed(secret('ha-postgres-server-cert', { 'tls.crt': 'x', 'tls.key': 'y' }, SYNC_LABELS));
    w.kube.seed(secret('unlabelled', { username: 'mallory', password: 'm' }));
    w.kube.seed(secret('other-db', { username: 'bob', password: 'b' }, { ...SYNC_LABELS, 'app.kubernetes.io/instance': 'other' }));
    assert.equal((await pgpoolConfigFiles(w.ctx, w.pp({ syncUsers: true })))['pool_passwd'], 'postgres:TEXTpg-pw\nalice:TEXTa-pw\njohn:TEXT12345\n');
    assert.equal((await pgpoolConfigFiles(w.ctx, w.pp()))['pool_passwd'], 'postgres:TEXTpg-pw\n');
  });

  it("spec.configuration: the guide's inline pool sizes, a config secret's, inline winning; a managed key that differs fails naming it", async () => {
    const w = world(3);
    const inline = await pgpoolConfigFiles(w.ctx, w.pp({ configuration: { inline: { 'pgpool.conf': 'num_init_children=6\nmax_pool=65\nchild_life_time=400\n' } } }));
    for (const l of ['num_init_children = 6', 'max_pool = 65', 'child_life_time = 400']) assert.ok(lines(inline['pgpool.conf']!).includes(l), l);
    w.kube.seed(secret('pp-configuration', { 'pgpool.conf': 'num_init_children = 7\nmax_pool = 20\n' }));
    const both = await pgpoolConfigFiles(w.ctx, w.pp({ configuration: { secretName: 'pp-configuration', inline: { 'pgpool.conf': 'max_pool=30' } } }));
    assert.ok(lines(both['pgpool.conf']!).includes('num_init_children = 7'));
    assert.ok(lines(both['pgpool.conf']!).includes('max_pool = 30'));
    assert.equal(lines(both['pgpool.conf']!).filter((l) => l.startsWith('max_pool')).length, 1);
    await assert.rejects(pgpoolConfigFiles(w.ctx, w.pp({ configuration: { inline: { 'pgpool.conf': "backend_hostname1 = 'elsewhere'" } } })), /"backend_hostname1" is set by pgtls/);
  });
});
