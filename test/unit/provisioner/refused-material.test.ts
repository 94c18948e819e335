// A cert-manager Secret edited by hand so that its key does not belong to its
// certificate: the provisioner refuses to stage it, the servers keep what was
// staged before, and a Warning Event on the database says why.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/kube/api.ts';
import { issueCa, issueLeaf } from '../../../src/certs/index.ts';
import { postgres } from '../../../src/kinds/index.ts';
import { DatabaseReconciler } from '../../../src/provisioner/reconciler.ts';
import { TLS_MATERIAL_REFUSED } from '../../../src/provisioner/staging.ts';
import { DB, NS, World } from '../opsmanager/world.ts';

describe('refused TLS material', () => {
  it('a hand-edited key that does not match: not staged, the old material kept, a Warning Event explains', async () => {
    const w = new World();
    await w.setup();
    const before = await w.staged();
    assert.ok(before?.['server.key']);
    const other = await issueLeaf(await issueCa({ commonName: 'other', algorithm: 'ecdsa' }), { commonName: 'x', usage: 'server', algorithm: 'ecdsa' });
    await w.kube.patch({ apiVersion: 'v1', kind: 'Secret', name: `${DB}-server-cert`, namespace: NS }, { data: { 'tls.key': Buffer.from(other.keyPem).toString('base64') } });
    const r = new DatabaseReconciler(w.ctx, postgres.provisioner);
    await r.reconcile({ namespace: NS, name: DB });
    assert.deepEqual(await w.staged(), before);
    const events = await w.kube.list<KubeObject & { type?: string; reason?: string; message?: string; involvedObject?: { name?: string } }>('v1', 'Event', { namespace: NS });
    const e = events.find((x) => x.reason === TLS_MATERIAL_REFUSED);
    assert.ok(e, JSON.stringify(events.map((x) => x.reason)));
    assert.equal(e.type, 'Warning');
    assert.equal(e.involvedObject?.name, DB);
    assert.match(e.message!, new RegExp(`secret ${DB}-server-cert: tls.key does not belong to tls.crt; refused, the servers keep the TLS material staged before`));
  });
});

describe('refused TLS material during a request', () => {
  it('the request waits with a Warning Event, then fails at spec.timeout and rolls back to the last working material', async () => {
    const w = new World();
    await w.setup();
    const before = await w.staged();
    w.createOps('rot', { rotateCertificates: true }, { timeout: '30s' });
    const r = w.reconciler();
    for (let i = 0; i < 50 && !(await w.steps('rot')).includes('CertificateSynced'); i++) {
      await r.reconcile({ namespace: NS, name: 'rot' });
      await w.certManager();
      w.clock.advance(1_000);
    }
    const other = await issueLeaf(await issueCa({ commonName: 'other', algorithm: 'ecdsa' }), { commonName: 'x', usage: 'server', algorithm: 'ecdsa' });
    await w.kube.patch({ apiVersion: 'v1', kind: 'Secret', name: `${DB}-server-cert`, namespace: NS }, { data: { 'tls.key': Buffer.from(other.keyPem).toString('base64') } });
    assert.equal(await w.run('rot', r), 'Failed');
    const failed = (await w.ops('rot')).status!.conditions!.find((c) => c.type === 'ReconfigureTLS');
    assert.match(failed?.message ?? '', /did not finish within 30s: waiting for secret pg-server-cert: tls.key does not belong to tls.crt/);
    const reasons = await w.eventReasons();
    assert.ok(reasons.includes(TLS_MATERIAL_REFUSED) && reasons.includes('RolledBack'), reasons.join());
    assert.deepEqual(await w.staged(), before, 'the last working material staged');
    const staged = await w.staged();
    for (const pod of [`${DB}-0`, `${DB}-1`]) assert.equal(w.served.get(pod), staged?.['server.crt'], pod);
  });
});
