// The certificate steps with a Pgpool's own client CA in the planned objects:
// its Issuers are applied, but only Certificates are waited for and re-issued
// (an Issuer has no revision, so waiting on it would never end).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/kube/api.ts';
import { issueCertificates, syncCertificates } from '../../../src/opsmanager/reconfigure-tls/certificates.ts';
import type { StepScope } from '../../../src/opsmanager/ops-type.ts';
import { pgpool } from '../../../src/kinds/index.ts';
import { pgpoolCertificates, type PgpoolDb } from '../../../src/provisioner/pgpool/provisioner.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';
import { FakeClock } from '../../helpers/fake-clock.ts';

const NS = 'team-a';
const db = {
  apiVersion: 'kubedb.com/v1alpha2',
  kind: 'Pgpool',
  metadata: { name: 'pp', namespace: NS, uid: 'u-pp' },
  spec: { version: '4.3.5', postgresRef: { name: 'pg' }, clientAuthMode: 'cert', tls: { issuerRef: { name: 'shared', kind: 'ClusterIssuer', apiGroup: 'cert-manager.io' } } },
} as unknown as PgpoolDb;

function scope() {
  const clock = new FakeClock();
  const kube = new FakeKube(clock);
  let op = { apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PgpoolOpsRequest', metadata: { name: 'rotate', namespace: NS, uid: 'u-op' }, spec: {}, status: {} } as Record<string, unknown>;
  const s = {
    ctx: { kube, clock },
    kind: { info: pgpool.info, provisioner: { certificates: (d: PgpoolDb) => pgpoolCertificates(pgpool.info, d) } },
    get op() { return op; },
    set op(v) { op = v; },
    store: {
      writeStatus: async (o: Record<string, unknown>, status: unknown) => ({ ...o, status }),
      recordProgress: async (o: { status?: Record<string, unknown> }, p: Record<string, unknown>) => ({ ...o, status: { ...(o.status ?? {}), progress: { ...((o.status?.progress as object) ?? {}), ...p } } }),
    },
  };
  return { s: s as unknown as StepScope, kube, clock };
}

/** cert-manager, reduced to: every Certificate is issued (Ready, revision + 1). */
async function issueAll(kube: FakeKube): Promise<void> {
  for (const c of await kube.list<KubeObject & { status?: { revision?: number } }>('cert-manager.io/v1', 'Certificate', { namespace: NS })) {
    await kube.patchStatus({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name: c.metadata!.name!, namespace: NS }, {
      revision: (c.status?.revision ?? 0) + 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'issued', observedGeneration: c.metadata!.generation, lastTransitionTime: new Date(0).toISOString() }],
    });
  }
}

describe('certificate steps with a client CA of its own', () => {
  it('applies the Issuers and the CA Certificate, and is done once every Certificate is issued', async () => {
    const { s, kube, clock } = scope();
    assert.equal(await syncCertificates(s, db, clock.now() + 60_000), false);
    assert.deepEqual((await kube.list('cert-manager.io/v1', 'Issuer', { namespace: NS })).map((i) => i.metadata!.name).sort(), ['pp-client-ca-issuer', 'pp-client-ca-selfsigned']);
    assert.equal((await kube.list('cert-manager.io/v1', 'Certificate', { namespace: NS })).length, 4);
    await issueAll(kube);
    assert.equal(await syncCertificates(s, db, clock.now() + 60_000), true, 'the Issuers are not waited for');
  });

  it('rotate asks cert-manager to re-issue every Certificate but the client CA (it keeps its key), no Issuer', async () => {
    const { s, kube, clock } = scope();
    await syncCertificates(s, db, clock.now() + 60_000);
    await issueAll(kube);
    await issueCertificates(s, db);
    const issuing = (await kube.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>('cert-manager.io/v1', 'Certificate', { namespace: NS }))
      .filter((c) => c.status?.conditions?.some((x) => x.type === 'Issuing' && x.status === 'True'))
      .map((c) => c.metadata!.name)
      .sort();
    assert.deepEqual(issuing, ['pp-client-cert', 'pp-metrics-exporter-cert', 'pp-server-cert']);
    assert.equal(await syncCertificates(s, db, clock.now() + 60_000), false, 'waits for the re-issue');
    await issueAll(kube);
    assert.equal(await syncCertificates(s, db, clock.now() + 60_000), true);
  });
});
