// Leader election against the fake API server and a fake clock: acquire,
// renew, take over an expired lease, and lose it (controllers stop).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderElector } from '../../../src/kube/leader-election.ts';
import { Controller } from '../../../src/kube/controller.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { Manager } from '../../../src/operator/manager.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { microTime } from '../../../src/util/clock.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

type Lease = { metadata: { resourceVersion: string }; spec: { holderIdentity?: string | null; renewTime?: string; leaseTransitions?: number; acquireTime?: string } };
const lease = (k: FakeKube) => k.peek<Lease>('coordination.k8s.io/v1', 'Lease', 'op', 'ns');
const cfg = (identity: string) => ({ namespace: 'ns', name: 'op', identity, leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
const log = createLogger('test', 'silent');

describe('LeaderElector', () => {
  it('creates the lease, renews it, and a second candidate waits', async () => {
    const clock = new FakeClock();
    const k = new FakeKube(clock);
    const a = new LeaderElector(k, cfg('a'), clock);
    const b = new LeaderElector(k, cfg('b'), clock);
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(lease(k)?.spec.holderIdentity, 'a');
    const first = lease(k)!.spec.renewTime;
    clock.advance(2_000);
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.notEqual(lease(k)!.spec.renewTime, first, 'renewTime moved');
    assert.equal(await b.tryAcquireOrRenew(), false, 'held and fresh');
    clock.advance(16_000);
    assert.equal(await b.tryAcquireOrRenew(), true, 'expired: taken over');
    assert.equal(lease(k)?.spec.holderIdentity, 'b');
    assert.equal(lease(k)?.spec.leaseTransitions, 1);
  });

  it('a race is decided by resourceVersion: one writer wins', async () => {
    const clock = new FakeClock();
    const k = new FakeKube(clock);
    k.seed({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'op', namespace: 'ns' }, spec: { holderIdentity: 'old', leaseDurationSeconds: 15, renewTime: microTime(clock.now() - 60_000) } });
    const [a, b] = [new LeaderElector(k, cfg('a'), clock), new LeaderElector(k, cfg('b'), clock)];
    // Both see the stale lease, then wait a lease duration by their own clocks.
    assert.deepEqual([await a.tryAcquireOrRenew(), await b.tryAcquireOrRenew()], [false, false]);
    clock.advance(15_000);
    const results = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    assert.deepEqual(results.sort(), [false, true]);
  });

  it('stop() releases the lease so a standby takes over at once', async () => {
    const clock = new FakeClock();
    const k = new FakeKube(clock);
    const a = new LeaderElector(k, cfg('a'), clock);
    let started = false;
    const run = a.run(() => void (started = true), () => undefined);
    while (!started) await clock.sleep(1);
    await a.stop();
    await run;
    assert.equal(lease(k)?.spec.holderIdentity, undefined);
    assert.equal(await new LeaderElector(k, cfg('b'), clock).tryAcquireOrRenew(), true);
  });

  it('losing the lease stops the controllers after the renew deadline', async () => {
    const clock = new FakeClock();
    const k = new FakeKube(clock);
    k.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } });
    const reconciled: string[] = [];
    const leading: boolean[] = [];
    const mgr = new Manager({
      kubeconfig: '',
      kube: k,
      clock,
      log,
      leaderElection: true,
      leaseNamespace: 'ns',
      leaseName: 'op',
      identity: 'a',
      onLeading: (l) => void leading.push(l),
      controllers: [
        (ctx) =>
          new Controller('test', { reconcile: async (key) => void reconciled.push(key.name) }, ctx.log).watchFor(
            new Informer(ctx.kube, { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' }),
          ),
      ],
    });
    const run = mgr.run();
    for (let i = 0; i < 1000 && reconciled.length === 0; i++) await clock.sleep(10);
    assert.deepEqual(reconciled, ['c'], 'leading: the controller reconciles');
    assert.equal(mgr.isLeader, true);
    // Another replica takes the lease (e.g. this one was partitioned away).
    const l = lease(k)!;
    k.seed({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'op', namespace: 'ns' }, spec: { ...l.spec, holderIdentity: 'b', renewTime: microTime(clock.now() + 3_600_000) } });
    const exitCode = process.exitCode;
    await run; // returns once the renew deadline passed and the controllers stopped
    process.exitCode = exitCode;
    assert.deepEqual(leading, [true, false]);
    assert.equal(mgr.isLeader, false);
    k.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'd', namespace: 'ns' } });
    await clock.sleep(10);
    assert.deepEqual(reconciled, ['c'], 'stopped controllers reconcile nothing more');
    assert.ok(clock.now() - Date.parse('2026-01-01T00:00:00Z') >= 10_000, 'not before the renew deadline');
  });
});
