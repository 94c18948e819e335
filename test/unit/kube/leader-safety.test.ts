// Leader safety (client-go semantics): expiry by our own clock, renewals
// bounded by the renew deadline, and a leader frozen mid-request (SIGSTOP)
// writes nothing after the new leader acted: its writes are fenced by its
// term, which ends renew-deadline after its last renewal began.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderElector } from '../../../src/kube/leader-election.ts';
import { Controller } from '../../../src/kube/controller.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { Manager } from '../../../src/operator/manager.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { microTime, type Clock } from '../../../src/util/clock.ts';
import type { KubeClient } from '../../../src/kube/api.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

type Lease = { spec: { holderIdentity?: string | null } };
const leaseObj = (holder: string, renewTime: string) => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'op', namespace: 'ns' },
  spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime },
});
const cfg = (identity: string) => ({ namespace: 'ns', name: 'op', identity, leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
const log = createLogger('test', 'silent');
const WRITES = new Set(['create', 'apply', 'patch', 'patchStatus', 'delete', 'exec']);

/** A process that can be frozen: while stopped its API calls and its sleeps wait (time goes on). */
class Freezer {
  stopped = false;
  private waiters: (() => void)[] = [];
  async gate(): Promise<void> {
    while (this.stopped) await new Promise<void>((r) => this.waiters.push(r));
  }
  stop(): void {
    this.stopped = true;
  }
  cont(): void {
    this.stopped = false;
    for (const w of this.waiters.splice(0)) w();
  }
  clock(shared: FakeClock): Clock {
    return { now: () => shared.now(), sleep: async (ms) => (await this.gate(), shared.sleep(ms)) };
  }
  /** The API as this process reaches it; non-Lease writes are logged with who made them. */
  kube(inner: FakeKube, who: string, writes: string[]): KubeClient {
    return new Proxy(inner, {
      get: (t, p, r) => {
        const v = Reflect.get(t, p, r) as unknown;
        if (typeof v !== 'function') return v;
        if (p === 'watch') return (v as (...a: unknown[]) => unknown).bind(t);
        return async (...args: unknown[]) => {
          await this.gate();
          const isLease = JSON.stringify(args[0] ?? '').includes('"Lease"');
          if (WRITES.has(String(p)) && !isLease) writes.push(`${who}:${String(p)}`);
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    }) as KubeClient;
  }
}

const until = async (what: string, f: () => boolean) => {
  for (let i = 0; i < 5000 && !f(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(f(), `timed out waiting for ${what}`);
};

describe('leader safety', () => {
  it('expires another holder by our clock from when we saw the lease, not by its renewTime', async () => {
    const clock = new FakeClock();
    const k = new FakeKube(clock);
    // A holder whose clock runs an hour ahead: by its renewTime it would never expire.
    k.seed(leaseObj('skewed', microTime(clock.now() + 3_600_000)));
    const b = new LeaderElector(k, cfg('b'), clock);
    assert.equal(await b.tryAcquireOrRenew(), false);
    clock.advance(14_000);
    assert.equal(await b.tryAcquireOrRenew(), false, 'not yet a lease duration since we saw it');
    clock.advance(1_000);
    assert.equal(await b.tryAcquireOrRenew(), true, 'unchanged for a lease duration: expired');
    // A holder whose clock runs behind: its renewTime looks old, but it just renewed.
    const k2 = new FakeKube(clock);
    k2.seed(leaseObj('slow', microTime(clock.now() - 60_000)));
    assert.equal(await new LeaderElector(k2, cfg('c'), clock).tryAcquireOrRenew(), false, 'first sight of the lease: wait a lease duration');
  });

  it('a renewal whose API call hangs is cut at the renew deadline', async () => {
    const clock = new FakeClock();
    const hung = new Proxy(new FakeKube(clock), { get: (t, p, r) => (p === 'get' ? () => new Promise(() => undefined) : Reflect.get(t, p, r)) }) as KubeClient;
    const e = new LeaderElector(hung, { ...cfg('a'), leaseDurationSeconds: 1, renewDeadlineMs: 200 }, clock);
    const t0 = performance.now();
    assert.equal(await e.tryAcquireOrRenew(), false);
    assert.ok(performance.now() - t0 < 2_000, 'bounded');
  });

  it('refuses a renew deadline that is not shorter than the lease', () => {
    assert.throws(() => new LeaderElector(new FakeKube(), { ...cfg('a'), renewDeadlineMs: 15_000 }), /renewDeadlineMs \(15000\) must be shorter than leaseDurationSeconds \(15 s\)/);
  });

  it('a leader frozen mid-request (SIGSTOP) writes nothing after the new leader acts', async () => {
    const shared = new FakeClock();
    const api = new FakeKube(shared);
    api.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'job', namespace: 'ns' } });
    const writes: string[] = [];
    const gate = () => {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      return { promise, resolve };
    };
    const gates = { a: gate(), b: gate() };
    const reached: Record<string, boolean> = {};
    const timing = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
    const manager = (who: 'a' | 'b', f: Freezer) =>
      new Manager({
        kubeconfig: '',
        kube: f.kube(api, who, writes),
        clock: f.clock(shared),
        log,
        leaderElection: true,
        leaseNamespace: 'ns',
        leaseName: 'op',
        identity: who,
        leaseTiming: timing,
        controllers: [
          (ctx) =>
            new Controller(
              'job',
              {
                // A two-step request: step 1, a long wait outside the clock (an exec, a rollout), step 2.
                reconcile: async (key) => {
                  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: key.name, namespace: key.namespace };
                  const cm = await ctx.kube.get<{ data?: Record<string, string> }>('v1', 'ConfigMap', key.name, key.namespace);
                  if (cm?.data?.step2) return; // done (level-triggered)
                  await ctx.kube.patch(ref, { data: { step1: who } });
                  reached[who] = true;
                  await gates[who].promise;
                  await ctx.kube.patch(ref, { data: { step2: who } });
                },
              },
              ctx.log,
            ).watchFor(new Informer(ctx.kube, { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' })),
        ],
      });
    const fa = new Freezer();
    const a = manager('a', fa);
    const exitCode = process.exitCode;
    const runA = a.run();
    await until('a to reach its wait', () => reached.a === true);
    const b = manager('b', new Freezer());
    const runB = b.run();
    // Freeze a mid-request; b takes over once the lease is a lease duration old by b's clock.
    fa.stop();
    gates.b.resolve();
    await until('b to finish the request', () => writes.includes('b:patch') && writes.filter((w) => w === 'b:patch').length === 2);
    assert.equal(api.peek<Lease>('coordination.k8s.io/v1', 'Lease', 'op', 'ns')?.spec.holderIdentity, 'b');
    const bActed = writes.indexOf('b:patch');
    // Thaw a: its in-flight request carries on with step 2 at once.
    gates.a.resolve();
    fa.cont();
    await runA; // a notices on its next renewal and stops its controllers
    process.exitCode = exitCode;
    assert.deepEqual(writes.slice(bActed).filter((w) => w.startsWith('a:')), [], `no write from the old leader after the new one acted: ${writes.join(', ')}`);
    assert.deepEqual(api.peek<{ data: Record<string, string> }>('v1', 'ConfigMap', 'job', 'ns')?.data, { step1: 'b', step2: 'b' });
    assert.equal(a.isLeader, false);
    await b.stop();
    await runB;
    process.exitCode = exitCode;
  });
});
