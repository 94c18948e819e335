// The ops-manager's reconciler against the fake API server: every step of a
// rotation and of a CA change, resuming after a crash at each step, rollback
// of a request that cannot finish, and queueing. No cluster; a few seconds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError } from '../../../src/kube/api.ts';
import { isConditionTrue } from '../../../src/kube/conditions.ts';
import { bundleFingerprints, fingerprint256 } from '../../../src/certs/index.ts';
import { NS, World } from './world.ts';

const ROTATE_STEPS = ['ReconfigureTLS', 'DatabasePauseSucceeded', 'IssueCertificatesSucceeded', 'CertificateSynced', 'UpdatePetSets', 'ReloadPods', 'UpdateDatabase', 'Successful'];
const CA_STEPS = ['ReconfigureTLS', 'DatabasePauseSucceeded', 'CertificateSynced', 'TrustBundleUpdated', 'UpdatePetSets', 'ReloadPods', 'DropOldCA', 'UpdateDatabase', 'Successful'];

async function servesStaged(w: World): Promise<void> {
  const staged = await w.staged();
  for (const pod of ['pg-0', 'pg-1']) assert.equal(w.served.get(pod), staged?.['server.crt'], `${pod} serves the staged certificate`);
}

describe('OpsReconciler: ReconfigureTLS', () => {
  it('rotate: every step in order, new certificate served by every pod, database resumed', async () => {
    const w = new World();
    await w.setup();
    const before = w.served.get('pg-0')!;
    w.createOps('rot', { rotateCertificates: true });
    assert.equal(await w.run('rot'), 'Successful');
    assert.deepEqual(await w.steps('rot'), ROTATE_STEPS);
    await servesStaged(w);
    assert.notEqual(fingerprint256(w.served.get('pg-0')!), fingerprint256(before));
    const db = await w.db();
    assert.equal(isConditionTrue(db.status?.conditions, 'Paused'), false);
    const conds = (await w.ops('rot')).status!.conditions!;
    assert.ok(conds.some((c) => c.type === 'ReloadPod--pg-0' && c.status === 'True'), 'a sub-step per pod');
    const reasons = await w.eventReasons();
    for (const r of ['Starting', 'Successful', 'IssueCertificatesSucceeded', 'CertificateSynced', 'UpdatePetSets', 'ReloadPods', 'UpdateDatabase']) assert.ok(reasons.includes(r), `Event ${r}`);
    assert.equal(w.clock.now() - Date.parse('2026-01-01T00:00:00Z') < 300_000, true, 'no step waited for its timeout');
  });

  it('change issuer: both CAs trusted while the old certificate is served, then the new one, then only the new CA', async () => {
    const w = new World();
    await w.setup('ca-a');
    w.createOps('chg', { issuerRef: { name: 'ca-b', kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    const r = w.reconciler();
    const caA = fingerprint256((await w.ca('ca-a')).certPem);
    const caB = fingerprint256((await w.ca('ca-b')).certPem);
    const seen: string[][] = [];
    for (let i = 0; i < 100 && (await w.ops('chg')).status?.phase !== 'Successful'; i++) {
      await r.reconcile({ namespace: NS, name: 'chg' });
      await w.certManager();
      w.clock.advance(1_000);
      const staged = await w.staged();
      if (staged?.['ca.crt']) seen.push(bundleFingerprints(staged['ca.crt']).sort());
    }
    assert.deepEqual(await w.steps('chg'), CA_STEPS);
    assert.ok(seen.some((s) => s.length === 2 && s.includes(caA) && s.includes(caB)), 'a state that trusts both CAs');
    assert.deepEqual(bundleFingerprints((await w.staged())!['ca.crt']!), [caB], 'only the new CA at the end');
    await servesStaged(w);
    assert.equal((await w.db()).spec.tls?.issuerRef?.name, 'ca-b', 'UpdateDatabase wrote the new issuer');
  });

  for (const [i, crashAt] of ROTATE_STEPS.slice(1).entries()) {
    it(`resumes after the operator dies while recording ${crashAt} (step ${i + 1})`, async () => {
      const w = new World();
      await w.setup();
      w.createOps('rot', { rotateCertificates: true });
      // The process dies on the status write that records the step: from then on none of its calls reach the API server.
      let dead = false;
      const revive = w.kube.intercept((verb, ref, body) => {
        if (dead) return new KubeApiError(503, 'operator process gone');
        const conds = (body as { conditions?: { type: string; status: string }[] } | undefined)?.conditions;
        if (verb === 'patchStatus' && ref.kind === 'PostgresOpsRequest' && conds?.some((c) => c.type === crashAt && c.status === 'True')) {
          dead = true;
          return new KubeApiError(503, 'operator process gone');
        }
        return undefined;
      });
      const first = w.reconciler();
      for (let n = 0; n < 100 && !dead; n++) {
        await first.reconcile({ namespace: NS, name: 'rot' }).catch(() => undefined);
        if (dead) break;
        await w.certManager();
        w.clock.advance(1_000);
      }
      assert.equal(dead, true, `reached ${crashAt}`);
      revive();
      assert.equal(await w.run('rot', w.reconciler()), 'Successful', 'a new operator finishes the request');
      assert.deepEqual(await w.steps('rot'), ROTATE_STEPS);
      await servesStaged(w);
      assert.equal(isConditionTrue((await w.db()).status?.conditions, 'Paused'), false);
      assert.equal((await w.ops('rot')).metadata.annotations?.['ops.pgtls.dev/retries'], undefined, 'a crash is not a failed attempt');
    });
  }

  it('rollback: an issuer that never issues times out; the last working certificate is served again and the database resumed', async () => {
    const w = new World();
    await w.setup('ca-a');
    const before = w.served.get('pg-0');
    w.broken.add('ca-z');
    w.createOps('bad', { issuerRef: { name: 'ca-z', kind: 'Issuer', apiGroup: 'cert-manager.io' } }, { timeout: '30s' });
    assert.equal(await w.run('bad'), 'Failed');
    const op = await w.ops('bad');
    const failed = op.status!.conditions!.find((c) => c.type === 'ReconfigureTLS');
    assert.equal(failed?.status, 'False');
    assert.match(failed?.message ?? '', /certificates were not issued in time|did not finish within 30s/);
    assert.equal(w.served.get('pg-0'), before, 'the old certificate is served');
    await servesStaged(w);
    assert.equal((await w.db()).spec.tls?.issuerRef?.name, 'ca-a', 'the spec never moved');
    assert.equal(isConditionTrue((await w.db()).status?.conditions, 'Paused'), false);
    const cert = await w.kube.get<{ spec: { issuerRef: { name: string } } }>('cert-manager.io/v1', 'Certificate', 'pg-server-cert', NS);
    assert.equal(cert?.spec.issuerRef.name, 'ca-a', 'Certificates back to the issuer that worked');
    assert.ok((await w.eventReasons()).includes('RolledBack'));
  });

  it('a transient error is retried (spec.maxRetries) before the request fails', async () => {
    const w = new World();
    await w.setup();
    w.createOps('flaky', { rotateCertificates: true }, { maxRetries: 2 });
    let failures = 0;
    w.kube.intercept((verb, ref) => (verb === 'exec' && ref.name === 'pg-1' && failures++ < 2 ? new Error('connection reset') : undefined));
    assert.equal(await w.run('flaky'), 'Successful');
    assert.equal((await w.ops('flaky')).metadata.annotations?.['ops.pgtls.dev/retries'], '2');
  });

  it('queueing: an older pending request of the same type is Skipped; another waits while one is Progressing', async () => {
    const w = new World();
    await w.setup();
    w.createOps('q1', { rotateCertificates: true }, {}, '2026-01-01T00:00:00Z');
    w.createOps('q2', { rotateCertificates: true }, {}, '2026-01-01T00:00:00Z');
    const r = w.reconciler();
    await r.reconcile({ namespace: NS, name: 'q1' });
    const q1 = await w.ops('q1');
    assert.equal(q1.status?.phase, 'Skipped');
    assert.match(q1.status!.conditions!.find((c) => c.type === 'Skipped')!.message!, /^skipped as demo\/q2 is the most updated PostgresOpsRequest of type ReconfigureTLS/);
    await r.reconcile({ namespace: NS, name: 'q2' });
    assert.equal((await w.ops('q2')).status?.phase, 'Progressing');
    w.createOps('q3', { remove: true }, {}, '2026-01-01T00:01:00Z');
    assert.deepEqual(await r.reconcile({ namespace: NS, name: 'q3' }), { requeueAfterMs: 5_000 }, 'waits for q2');
    assert.equal((await w.ops('q3')).status?.phase, undefined);
    assert.equal(await w.run('q2', r), 'Successful');
    assert.equal(await w.run('q3', r), 'Successful', 'then runs');
    assert.equal((await w.staged())?.['server.crt'], undefined, 'TLS removed');
    await servesStaged(w);
  });

  it('an unsupported type or a plan that cannot run fails at once with a field message', async () => {
    const w = new World();
    await w.setup();
    w.kube.seed({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PostgresOpsRequest', metadata: { name: 'rs', namespace: NS }, spec: { type: 'Restart', databaseRef: { name: 'pg' } } });
    assert.equal(await w.run('rs'), 'Failed');
    assert.match((await w.ops('rs')).status!.conditions![0]!.message!, /spec.type: Unsupported value: "Restart": this ops-manager runs ReconfigureTLS only/);
    w.createOps('dis', { sslMode: 'disable' });
    assert.equal(await w.run('dis'), 'Failed');
    assert.match((await w.ops('dis')).status!.conditions![0]!.message!, /use remove: true/);
    assert.equal(isConditionTrue((await w.db()).status?.conditions, 'Paused'), false, 'never paused');
  });
});
