// A database pod deleted during ReloadPods (found on the cluster by
// test/e2e/fault-matrix.test.ts): the rollout waits for its successor instead
// of failing the request, and the request ends Successful.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { k8s } from '../../../src/kube/client.ts';
import { NS, World } from './world.ts';

describe('OpsReconciler: a pod replaced mid-rollout', () => {
  it('rotate with pg-1 not Ready when its turn comes: waits for it, then Successful, every pod serving the staged certificate', async () => {
    const w = new World();
    await w.setup();
    w.createOps('rot', { rotateCertificates: true });
    const r = w.reconciler();
    const setReady = (status: 'True' | 'False') =>
      w.kube.patchStatus({ apiVersion: 'v1', kind: 'Pod', name: 'pg-1', namespace: NS }, { conditions: [{ type: 'Ready', status }] });
    // Run up to UpdatePetSets, then take pg-1 down as its StatefulSet replaces it.
    for (let i = 0; i < 50 && !(await w.steps('rot')).includes('UpdatePetSets'); i++) {
      await r.reconcile({ namespace: NS, name: 'rot' });
      await w.certManager();
      w.clock.advance(1_000);
    }
    await setReady('False');
    // The replacement becomes Ready 5 s (of waiting) later, serving the files staged now, as a new pod would.
    const t0 = w.clock.now();
    // Each pass of the rollout (and each wait of a blocking one) looks at the pods again: time has passed then.
    let replaced = false;
    const becomeReady = async () => {
      const p = w.kube.peek<k8s.V1Pod>('v1', 'Pod', 'pg-1', NS);
      if (!replaced && w.clock.now() - t0 >= 5_000 && p?.status?.conditions?.[0]?.status === 'False') {
        replaced = true;
        w.served.set('pg-1', (await w.staged())?.['server.crt']);
        await setReady('True');
      }
    };
    const realSleep = w.clock.sleep.bind(w.clock);
    w.clock.sleep = async (ms: number) => {
      await realSleep(ms);
      await becomeReady();
    };
    w.kube.intercept((verb, ref) => {
      if ((verb === 'get' || verb === 'list') && ref.kind === 'Pod') setImmediate(() => void becomeReady());
      return undefined;
    });
    assert.equal(await w.run('rot', r), 'Successful', JSON.stringify((await w.ops('rot')).status));
    const staged = await w.staged();
    for (const pod of ['pg-0', 'pg-1']) assert.equal(w.served.get(pod), staged?.['server.crt'], pod);
  });
});
