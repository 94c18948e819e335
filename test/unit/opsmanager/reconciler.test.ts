// The ops-manager's reconciler against the fake API server: every step of a
// rotation and of a CA change, resuming after a crash at each step, rollback
// of a request that cannot finish, and queueing. No cluster; a few seconds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, type KubeObject } from '../../../src/kube/api.ts';
import { isConditionTrue } from '../../../src/kube/conditions.ts';
import { bundleFingerprints, fingerprint256 } from '../../../src/certs/index.ts';
import { readSecret } from '../../../src/provisioner/objects.ts';
import { postgres } from '../../../src/kinds/index.ts';
import { renewalHooks } from '../../../src/operator/controllers.ts';
import { DatabaseReconciler } from '../../../src/provisioner/reconciler.ts';
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
      assert.equal((await w.ops('rot')).status?.progress?.retries, undefined, 'a crash is not a failed attempt');
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
    assert.equal((await w.ops('flaky')).status?.progress?.retries, 2);
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

describe('OpsReconciler: poolers in other namespaces (issue 11 item 1)', () => {
  /** A PgBouncer in team-a in front of demo/pg, its one pod not ready. */
  function pooler(w: World): void {
    w.kube.seed({ apiVersion: 'catalog.kubedb.com/v1alpha1', kind: 'PgBouncerVersion', metadata: { name: '1.18.0' }, spec: { version: '1.18.0', pgBouncer: { image: 'pgbouncer:1.18.0' } } });
    w.kube.seed({
      apiVersion: 'kubedb.com/v1',
      kind: 'PgBouncer',
      metadata: { name: 'pb', namespace: 'team-a', uid: 'pb-uid', finalizers: ['kubedb.com'] },
      spec: { version: '1.18.0', replicas: 1, sslMode: 'disable', database: { syncUsers: true, databaseName: 'postgres', databaseRef: { namespace: NS, name: 'pg' } }, connectionPool: { port: 5432, authType: 'md5' } },
      status: { phase: 'NotReady' },
    });
    w.kube.seed({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'pb', namespace: 'team-a', uid: 'pb-sts-uid' }, spec: {} });
    w.kube.seed({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'pb-0', namespace: 'team-a', labels: { 'app.kubernetes.io/name': 'pgbouncers.kubedb.com', 'app.kubernetes.io/instance': 'pb', 'app.kubernetes.io/managed-by': 'kubedb.com' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'pb', uid: 'pb-sts-uid', controller: true }] },
      spec: { containers: [{ name: 'pgbouncer' }] },
      status: { conditions: [{ type: 'Ready', status: 'False' }] },
    });
  }

  it('a CA change of the backend is neither failed nor blocked by a pooler in a namespace it does not accept', async () => {
    const w = new World();
    await w.setup('ca-a');
    pooler(w);
    w.createOps('chg', { issuerRef: { name: 'ca-b', kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    assert.equal(await w.run('chg'), 'Successful');
    assert.deepEqual(await w.steps('chg'), CA_STEPS);
    assert.equal(w.kube.peek('v1', 'Secret', 'pb-config', 'team-a'), undefined, 'nothing rendered for the foreign pooler');
  });

  it('a pooler the backend accepts is part of the change (here its pod is not ready, so the change cannot finish)', async () => {
    const w = new World();
    await w.setup('ca-a');
    pooler(w);
    await w.kube.patch({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', name: 'pg', namespace: NS }, { metadata: { annotations: { 'pgtls.dev/allowed-pooler-namespaces': 'team-a' } } });
    w.createOps('chg', { issuerRef: { name: 'ca-b', kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    assert.equal(await w.run('chg'), 'Failed');
    assert.match((await w.ops('chg')).status!.conditions!.find((c) => c.type === 'ReconfigureTLS' && c.status === 'False')!.message!, /pod pb-0 is not ready|step TrustBundleUpdated did not finish within/);
  });
});

describe('OpsReconciler: progress cannot be forged (issue 11 item 2)', () => {
  const opsRef = (name: string) => ({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PostgresOpsRequest', name, namespace: NS });
  /** The rendered pg_hba.conf (asserted present, so a check on it cannot pass vacuously). */
  const hba = async (w: World) => {
    const text = (await readSecret(w.kube, NS, 'pg-config'))?.['pg_hba.conf'];
    assert.match(text ?? '', /^hostssl\s/m, 'pg_hba.conf rendered');
    return text!;
  };

  /** Reconciles until the plan is recorded (the request is Progressing). */
  async function started(w: World, name: string) {
    const r = w.reconciler();
    for (let i = 0; i < 10 && (await w.ops(name)).status?.progress?.plan === undefined; i++) await r.reconcile({ namespace: NS, name });
    assert.ok((await w.ops(name)).status?.progress?.plan, 'plan recorded in status');
    return r;
  }

  it('the old annotations steer nothing: a forged plan, step and retry count there are ignored', async () => {
    const w = new World();
    await w.setup();
    w.createOps('rot', { rotateCertificates: true });
    const forged = { operation: 'update', rotate: false, from: { sslMode: 'verify-full', clientAuthMode: 'md5' }, next: { sslMode: 'verify-full', clientAuthMode: 'trust' } };
    await w.kube.patch(opsRef('rot'), { metadata: { annotations: { 'ops.pgtls.dev/plan': JSON.stringify(forged), 'ops.pgtls.dev/retries': '-100', 'ops.pgtls.dev/step': 'Resume@2000-01-01T00:00:00Z' } } });
    assert.equal(await w.run('rot'), 'Successful');
    assert.deepEqual(await w.steps('rot'), ROTATE_STEPS);
    assert.doesNotMatch(await hba(w), /^host\S*\s.*\strust$/m);
    assert.equal((await w.ops('rot')).status?.progress?.retries, undefined);
  });

  it('a plan in status that does not match the spec (clientAuthMode trust) fails the request; no trust line is written', async () => {
    const w = new World();
    await w.setup();
    w.createOps('rot', { rotateCertificates: true });
    const r = await started(w, 'rot');
    const op = await w.ops('rot');
    const plan = structuredClone(op.status!.progress!.plan) as { next: { clientAuthMode: string } };
    plan.next.clientAuthMode = 'trust';
    await w.kube.patchStatus(opsRef('rot'), { progress: { plan } });
    assert.equal(await w.run('rot', r), 'Failed');
    const failed = (await w.ops('rot')).status!.conditions!.find((c) => c.type === 'ReconfigureTLS' && c.status === 'False');
    assert.match(failed?.message ?? '', /the recorded plan \(status\.progress\.plan\) is not valid: next\.clientAuthMode: Unsupported value: "trust"/);
    const text = await hba(w);
    assert.doesNotMatch(text, /^host\S*\s.*\strust$/m, 'no TCP trust rule');
    assert.equal(isConditionTrue((await w.db()).status?.conditions, 'Paused'), false, 'resumed');
  });

  it('a plan in status that is well-formed but means something else (rotation turned into a removal) fails the request', async () => {
    const w = new World();
    await w.setup();
    w.createOps('rot', { rotateCertificates: true });
    const r = await started(w, 'rot');
    const plan = structuredClone((await w.ops('rot')).status!.progress!.plan) as Record<string, unknown>;
    await w.kube.patchStatus(opsRef('rot'), { progress: { plan: { ...plan, operation: 'remove', rotate: false, next: { sslMode: 'disable', clientAuthMode: 'md5' } } } });
    assert.equal(await w.run('rot', r), 'Failed');
    assert.match((await w.ops('rot')).status!.conditions!.find((c) => c.type === 'ReconfigureTLS' && c.status === 'False')!.message!, /does not match the request's spec/);
    assert.ok((await w.staged())?.['server.crt'], 'TLS still staged');
  });

  it('a negative retry count in status does not buy endless retries: the request fails at the first error', async () => {
    const w = new World();
    await w.setup();
    w.createOps('flaky', { rotateCertificates: true }, { maxRetries: 2 });
    const r = await started(w, 'flaky');
    await w.kube.patchStatus(opsRef('flaky'), { progress: { retries: -1000 } });
    let failures = 0;
    w.kube.intercept((verb, ref) => (verb === 'exec' && ref.name === 'pg-1' && failures++ < 50 ? new Error('connection reset') : undefined));
    assert.equal(await w.run('flaky', r), 'Failed');
    assert.ok(failures <= 2, `retried ${failures} times`);
    assert.match((await w.ops('flaky')).status!.conditions!.find((c) => c.type === 'ReconfigureTLS' && c.status === 'False')!.message!, /status\.progress\.retries: Invalid value: -1000: must be a whole number from 0 to 10/);
  });

  it('a step clock set in the future (to dodge spec.timeout) fails the request', async () => {
    const w = new World();
    await w.setup('ca-a');
    w.broken.add('ca-z');
    w.createOps('bad', { issuerRef: { name: 'ca-z', kind: 'Issuer', apiGroup: 'cert-manager.io' } }, { timeout: '30s' });
    const r = await started(w, 'bad');
    await r.reconcile({ namespace: NS, name: 'bad' });
    await w.kube.patchStatus(opsRef('bad'), { progress: { step: { name: 'SyncCertificates', startedAt: '2100-01-01T00:00:00Z' } } });
    assert.equal(await w.run('bad', r, 20), 'Failed');
    assert.match((await w.ops('bad')).status!.conditions!.find((c) => c.type === 'ReconfigureTLS' && c.status === 'False')!.message!, /status\.progress\.step\.startedAt: Invalid value: "2100-01-01T00:00:00Z": must be a time that has passed/);
  });
});

describe('OpsReconciler: no database left paused (issue 11 items 3, 5, 7)', () => {
  const opsRef = (name: string) => ({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PostgresOpsRequest', name, namespace: NS });
  const paused = async (w: World) => isConditionTrue((await w.db()).status?.conditions, 'Paused');

  /** Reconciles until the database is paused by the request (and the last working copy is saved). */
  async function untilPaused(w: World, name: string) {
    const r = w.reconciler();
    for (let i = 0; i < 20 && !(await paused(w)); i++) {
      await r.reconcile({ namespace: NS, name });
      await w.certManager();
    }
    assert.ok(await paused(w), 'paused by the request');
    return r;
  }

  it('deleting a Progressing request rolls back, resumes the database, removes its last working copy, then lets it go', async () => {
    const w = new World();
    await w.setup('ca-a');
    const before = w.served.get('pg-0');
    w.createOps('chg', { issuerRef: { name: 'ca-b', kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    const r = await untilPaused(w, 'chg');
    assert.ok((await w.ops('chg')).metadata.finalizers?.includes('ops.pgtls.dev/rollback'), 'finalizer held while in progress');
    assert.ok(w.kube.peek('v1', 'Secret', 'chg-last-working', NS), 'last working copy saved');
    await w.kube.delete(opsRef('chg'));
    assert.ok(await w.kube.get('ops.kubedb.com/v1alpha1', 'PostgresOpsRequest', 'chg', NS), 'held by the finalizer');
    await r.reconcile({ namespace: NS, name: 'chg' });
    assert.equal(await w.kube.get('ops.kubedb.com/v1alpha1', 'PostgresOpsRequest', 'chg', NS), undefined, 'gone once finalized');
    assert.equal(await paused(w), false, 'resumed');
    assert.equal(w.served.get('pg-0'), before, 'the old certificate is served');
    assert.equal((await w.db()).spec.tls?.issuerRef?.name, 'ca-a');
    assert.equal(w.kube.peek('v1', 'Secret', 'chg-last-working', NS), undefined, 'private keys of the old state not kept');
    assert.ok((await w.eventReasons()).includes('RolledBack'));
  });

  it('a request that ended leaves no last working copy, and a look-alike Secret it does not own is kept', async () => {
    const w = new World();
    await w.setup();
    w.kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'other', namespace: NS, labels: { 'ops.kubedb.com/name': 'rot' } }, data: {} });
    w.createOps('rot', { rotateCertificates: true });
    const r = w.reconciler();
    assert.equal(await w.run('rot', r), 'Successful');
    await r.reconcile({ namespace: NS, name: 'rot' });
    assert.equal(w.kube.peek('v1', 'Secret', 'rot-last-working', NS), undefined);
    assert.ok(w.kube.peek('v1', 'Secret', 'other', NS), 'not ours: kept');
    assert.deepEqual((await w.ops('rot')).metadata.finalizers ?? [], [], 'finalizer released');
  });

  it('a database Paused with no request in progress (the operator died between resume and Failed) is resumed, with an Event', async () => {
    const w = new World();
    await w.setup();
    w.createOps('rot', { rotateCertificates: true });
    await untilPaused(w, 'rot');
    // What a crash leaves: the request recorded as ended, the database still paused.
    await w.kube.patchStatus(opsRef('rot'), { phase: 'Failed' });
    assert.equal(await paused(w), true);
    await w.reconciler().reconcile({ namespace: NS, name: 'rot' });
    assert.equal(await paused(w), false);
    const events = await w.kube.list<KubeObject & { reason?: string; message?: string; involvedObject?: { kind?: string } }>('v1', 'Event', { namespace: NS });
    const ev = events.find((e) => e.reason === 'ResumedOrphanPause');
    assert.equal(ev?.involvedObject?.kind, 'Postgres');
    assert.match(ev?.message ?? '', /Postgres demo\/pg was Paused but no PostgresOpsRequest is in progress for it; resumed/);
  });

  it('the provisioner clears a Paused condition no request holds, and keeps one a request holds', async () => {
    const w = new World();
    await w.setup();
    w.createOps('rot', { rotateCertificates: true });
    await untilPaused(w, 'rot');
    const hooks = renewalHooks(postgres, w.ctx as never);
    const r = new DatabaseReconciler(w.ctx, postgres.provisioner, { releaseOrphanPause: hooks.releaseOrphanPause });
    await r.reconcile({ namespace: NS, name: 'pg' });
    assert.equal(await paused(w), true, 'held by a Progressing request');
    await w.kube.patch(opsRef('rot'), { metadata: { finalizers: [] } });
    await w.kube.delete(opsRef('rot'));
    await r.reconcile({ namespace: NS, name: 'pg' });
    assert.equal(await paused(w), false, 'nobody holds it: resumed');
  });

  it('a holder in the watch cache spares the list; a cache that shows none (stale or empty) defers to the live list', async () => {
    const w = new World();
    await w.setup();
    w.createOps('rot', { rotateCertificates: true });
    await untilPaused(w, 'rot');
    let lists = 0;
    const kube = new Proxy(w.ctx.kube, {
      get(t, p, r) {
        if (p === 'list') return (apiVersion: string, ...rest: unknown[]) => (apiVersion.startsWith('ops.') && lists++, (t.list as (...a: unknown[]) => unknown).call(t, apiVersion, ...rest));
        return Reflect.get(t, p, r);
      },
    });
    const ctx = { ...w.ctx, kube } as never;
    const live = await w.ops('rot');
    const run = async (cached: () => KubeObject[]) => new DatabaseReconciler(ctx, postgres.provisioner, { releaseOrphanPause: renewalHooks(postgres, ctx, cached as never).releaseOrphanPause }).reconcile({ namespace: NS, name: 'pg' });
    await run(() => [live]);
    assert.equal(lists, 0, 'the cached holder answered');
    assert.equal(await paused(w), true);
    // The request is gone, but a stale cache still shows it: the pause stays until the cache catches up.
    await w.kube.patch(opsRef('rot'), { metadata: { finalizers: [] } });
    await w.kube.delete(opsRef('rot'));
    await run(() => [live]);
    assert.equal(await paused(w), true, 'a stale holder only delays the release');
    // A cache that shows no holder is never trusted to resume: the live list decides.
    await run(() => []);
    assert.equal(lists, 1);
    assert.equal(await paused(w), false, 'nobody holds it: resumed');
  });
});

describe('OpsReconciler: the last working copy is the request\'s own (issue 11 item 5)', () => {
  it('a pre-existing Secret named <op>-last-working that the request does not own fails the request before anything pauses', async () => {
    const w = new World();
    await w.setup();
    const planted = { 'server.crt': 'planted', 'server.key': 'planted', 'ca.crt': 'planted' };
    w.kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rot-last-working', namespace: NS }, data: Object.fromEntries(Object.entries(planted).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });
    w.createOps('rot', { rotateCertificates: true });
    assert.equal(await w.run('rot'), 'Failed');
    assert.match((await w.ops('rot')).status!.conditions!.find((c) => c.status === 'False')!.message!, /Secret demo\/rot-last-working exists and is not owned by this request/);
    assert.equal(isConditionTrue((await w.db()).status?.conditions, 'Paused'), false, 'never paused');
    assert.ok(w.kube.peek('v1', 'Secret', 'rot-last-working', NS), 'not ours: not deleted either');
  });

  it('a last working copy changed after it was saved is not restored', async () => {
    const w = new World();
    await w.setup('ca-a');
    w.broken.add('ca-z');
    w.createOps('bad', { issuerRef: { name: 'ca-z', kind: 'Issuer', apiGroup: 'cert-manager.io' } }, { timeout: '30s' });
    const r = w.reconciler();
    for (let i = 0; i < 10 && !w.kube.peek('v1', 'Secret', 'bad-last-working', NS); i++) await r.reconcile({ namespace: NS, name: 'bad' });
    await w.kube.patch({ apiVersion: 'v1', kind: 'Secret', name: 'bad-last-working', namespace: NS }, { data: { 'server.crt': Buffer.from('swapped').toString('base64') } });
    assert.equal(await w.run('bad', r), 'Failed');
    assert.match((await w.ops('bad')).status!.conditions!.find((c) => c.type === 'ReconfigureTLS' && c.status === 'False')!.message!, /restoring the last working TLS configuration also failed: Secret demo\/bad-last-working changed since it was saved/);
    assert.notEqual(w.served.get('pg-0'), 'swapped');
  });
});
