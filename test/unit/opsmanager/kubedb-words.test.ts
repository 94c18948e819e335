// KubeDB's words for ReconfigureTLS, held as its guide prints them, and
// pgtls's own words next to them. The guide is KubeDB's Pgpool ReconfigureTLS
// guide (`kubectl describe pgpoolopsrequest ppops-add-tls`, kubedb-api.md
// §5.4), the only published describe of this ops type. The flows run the real
// reconciler against the fake API server (world.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError } from '../../../src/kube/api.ts';
import { postgres } from '../../../src/kinds/index.ts';
import type { Kind } from '../../../src/kinds/types.ts';
import { POD_STEPS, podCondition, startWords, stepWords, type Subject } from '../../../src/opsmanager/reconfigure-tls/words.ts';
import type { TlsStep } from '../../../src/opsmanager/reconfigure-tls/steps.ts';
import { NS, World } from './world.ts';

const GUIDE: Subject & { pod: string } = { kind: 'Pgpool', opsKind: 'PgpoolOpsRequest', namespace: 'demo', db: 'pgpool', op: 'ppops-add-tls', pod: 'pgpool-0' };

/** The guide's conditions, in its order: type, reason ('' when none), message. */
const GUIDE_CONDITIONS: readonly [string, string, string][] = [
  ['ReconfigureTLS', 'ReconfigureTLS', 'Pgpool ops-request has started to reconfigure tls for RabbitMQ nodes'],
  ['DatabasePauseSucceeded', 'DatabasePauseSucceeded', 'Successfully paused database'],
  ['CertificateSynced', 'CertificateSynced', 'Successfully synced all certificates'],
  ['GetCertificate', '', 'get certificate; ConditionStatus:True'],
  ['CheckReadyCondition', '', 'check ready condition; ConditionStatus:True'],
  ['CheckIssuingCondition', '', 'check issuing condition; ConditionStatus:True'],
  ['UpdatePetSets', 'UpdatePetSets', 'successfully reconciled the Pgpool with TLS'],
  ['RestartPods', 'RestartPods', 'Successfully Restarted Pgpool pods'],
  ['GetPod--pgpool-0', '', 'get pod; ConditionStatus:True; PodName:pgpool-0'],
  ['EvictPod--pgpool-0', '', 'evict pod; ConditionStatus:True; PodName:pgpool-0'],
  ['CheckPodRunning--pgpool-0', '', 'check pod running; ConditionStatus:True; PodName:pgpool-0'],
  ['UpdateDatabase', 'UpdateDatabase', 'Successfully updated Pgpool'],
  ['Successful', 'Successful', 'Successfully updated Pgpool TLS'],
];
/** The rotate guide adds this one right after DatabasePauseSucceeded. */
const GUIDE_ROTATE: [string, string, string] = ['IssueCertificatesSucceeded', 'IssueCertificatesSucceeded', 'successfully add issuing condition to all the certificates'];

/** The guide's Events, in its order: type, reason, message ('' when the guide does not print it). */
const GUIDE_EVENTS: readonly [string, string, string][] = [
  ['Normal', 'Starting', 'Start processing for PgpoolOpsRequest: demo/ppops-add-tls'],
  ['Normal', 'Starting', 'Pausing Pgpool databse: demo/pgpool'],
  ['Normal', 'Successful', 'Successfully paused Pgpool database: demo/pgpool for PgpoolOpsRequest: ppops-add-tls'],
  ['Normal', 'CertificateSynced', ''],
  ['Normal', 'UpdatePetSets', ''],
  ['Warning', 'check pod running; ConditionStatus:False; PodName:pgpool-0', 'check pod running; ConditionStatus:False; PodName:pgpool-0'],
  ['Normal', 'RestartPods', ''],
  ['Normal', 'Starting', 'Resuming Pgpool database: demo/pgpool'],
  ['Normal', 'Successful', 'Successfully resumed Pgpool database: demo/pgpool for PgpoolOpsRequest: ppops-add-tls'],
];

/** Where pgtls's words differ from the guide's, on purpose: two slips in KubeDB's text. */
const DEVIATIONS: Readonly<Record<string, string>> = {
  'Pgpool ops-request has started to reconfigure tls for RabbitMQ nodes': 'Pgpool ops-request has started to reconfigure tls for Pgpool nodes',
  'Pausing Pgpool databse: demo/pgpool': 'Pausing Pgpool database: demo/pgpool',
};
const ours = (kubedb: string) => DEVIATIONS[kubedb] ?? kubedb;

/** pgtls's own conditions, recorded next to KubeDB's: type pattern and what it adds. */
const PGTLS_CONDITIONS: readonly [RegExp, string][] = [
  [/^TrustBundleUpdated$/, 'CA change: every server and pooler trusts both CAs, still serving the old certificate'],
  [/^ReloadPod-TrustBundleUpdated--/, 'per pod: it reloaded into the both-CAs state (time, certificate served)'],
  [/^ReloadPods$/, 'PostgreSQL and PgBouncer take the change by reload, not restart'],
  [/^ReloadPod--/, 'per pod: reloaded, time taken, certificate served'],
  [/^DropOldCA$/, 'CA change: the old CA is no longer trusted'],
  [/^ReloadPod-DropOldCA--/, 'per pod: reloaded into the new-CA-only state'],
];

/** The guide's lines for another database and request. */
function instantiate(line: string, s: Subject, pod: string): string {
  return line
    .replaceAll(GUIDE.opsKind, s.opsKind)
    .replaceAll(`${GUIDE.namespace}/${GUIDE.op}`, `${s.namespace}/${s.op}`)
    .replaceAll(GUIDE.op, s.op)
    .replaceAll(GUIDE.pod, pod)
    .replaceAll(`${GUIDE.namespace}/${GUIDE.db}`, `${s.namespace}/${s.db}`)
    .replaceAll(GUIDE.kind, s.kind);
}

/** Postgres taking TLS changes the way Pgpool does (restart by eviction), to run KubeDB's restart path in the world. */
const restarting: Kind = { ...postgres, engine: { ...postgres.engine, tlsChange: 'restart' } };

const STEP_OF: Readonly<Record<string, TlsStep>> = {
  DatabasePauseSucceeded: 'Pause',
  IssueCertificatesSucceeded: 'IssueCertificates',
  CertificateSynced: 'SyncCertificates',
  UpdatePetSets: 'UpdatePetSets',
  RestartPods: 'RollPods',
  UpdateDatabase: 'UpdateDatabase',
  Successful: 'Resume',
};

describe("KubeDB's words: the guide's conditions and Events", () => {
  it('words.ts says what the guide shows, for the guide\'s database and request', () => {
    for (const [type, reason, message] of [...GUIDE_CONDITIONS, GUIDE_ROTATE]) {
      if (type === 'ReconfigureTLS') {
        assert.equal(startWords(GUIDE).message, ours(message));
        continue;
      }
      const pod = /^(GetPod|EvictPod|CheckPodRunning)--(.+)$/.exec(type);
      if (pod) {
        const c = podCondition(pod[1] as keyof typeof POD_STEPS, pod[2]!, true);
        assert.deepEqual([c.type, c.reason ?? '', c.message], [type, reason, message], type);
        continue;
      }
      const step = STEP_OF[type];
      if (!step) continue; // certificate sub-steps: certificates.ts, checked in the flow below
      const w = stepWords(step, 'restart', GUIDE);
      assert.deepEqual([w.condition, w.condition, w.message], [type, reason, message], type);
      assert.equal(w.origin, 'kubedb');
    }
    const pause = stepWords('Pause', 'restart', GUIDE);
    const resume = stepWords('Resume', 'restart', GUIDE);
    const said = [
      ['Normal', startWords(GUIDE).event.reason, startWords(GUIDE).event.message],
      ...pause.before.map((e) => ['Normal', e.reason, e.message]),
      ['Normal', pause.done.reason, pause.done.message],
      ...resume.before.map((e) => ['Normal', e.reason, e.message]),
      ['Normal', resume.done.reason, resume.done.message],
    ];
    const expected = GUIDE_EVENTS.filter(([, reason]) => ['Starting', 'Successful'].includes(reason)).map(([t, r, m]) => [t, r, ours(m)]);
    assert.deepEqual(said, expected);
  });

  it('pgtls\'s own steps are marked as its own, KubeDB\'s as KubeDB\'s', () => {
    assert.equal(stepWords('TrustBothCAs', 'reload', GUIDE).origin, 'pgtls');
    assert.equal(stepWords('DropOldCA', 'reload', GUIDE).origin, 'pgtls');
    assert.equal(stepWords('RollPods', 'reload', GUIDE).origin, 'pgtls');
    assert.equal(stepWords('RollPods', 'restart', GUIDE).origin, 'kubedb');
    assert.equal(POD_STEPS.ReloadPod.origin, 'pgtls');
    assert.deepEqual(Object.entries(POD_STEPS).filter(([, v]) => v.origin === 'kubedb').map(([k]) => k), ['GetPod', 'EvictPod', 'CheckPodRunning']);
  });

  it('a restart (rotate): KubeDB\'s conditions in KubeDB\'s order with its reasons and messages, its Events in order, pgtls\'s detail appended', async () => {
    const w = new World();
    await w.setup();
    w.recreateEvictedPods();
    w.createOps('rot', { rotateCertificates: true });
    assert.equal(await w.run('rot', w.reconciler(restarting)), 'Successful');
    const s: Subject = { kind: 'Postgres', opsKind: 'PostgresOpsRequest', namespace: NS, db: 'pg', op: 'rot' };
    const conds = (await w.ops('rot')).status!.conditions!;
    const byType = new Map(conds.map((c) => [c.type, c]));
    const guide = [GUIDE_CONDITIONS[0]!, GUIDE_CONDITIONS[1]!, GUIDE_ROTATE, ...GUIDE_CONDITIONS.slice(2)];
    for (const pod of ['pg-0', 'pg-1']) {
      for (const [type, reason, message] of guide) {
        const t = instantiate(type, s, pod);
        const c = byType.get(t);
        assert.ok(c, `condition ${t}`);
        assert.equal(c.status, 'True', t);
        assert.equal(c.reason ?? '', reason, `${t} reason`);
        const m = instantiate(ours(message), s, pod);
        // pgtls appends its detail (the Certificate, the time, what the pod serves) after KubeDB's text.
        assert.ok(c.message === m || c.message!.startsWith(`${m}; `), `${t}: "${c.message}" is KubeDB's "${m}"`);
      }
    }
    assert.match(byType.get('CheckPodRunning--pg-0')!.message!, /; took \d+ms; serves certificate /);
    // Step conditions in the guide's order (sub-steps, which pgtls records while the step runs, aside).
    const steps = conds.filter((c) => c.reason).map((c) => c.type);
    assert.deepEqual(steps, guide.filter(([, reason]) => reason).map(([t]) => t));
    assert.equal(conds.filter((c) => PGTLS_CONDITIONS.some(([re]) => re.test(c.type))).length, 0, 'no pgtls-only step on this path');

    const events = await w.events();
    const want = GUIDE_EVENTS.flatMap(([type, reason, message]) =>
      ['pg-0', 'pg-1'].map((pod) => ({ type, reason: instantiate(reason, s, pod), message: message && instantiate(ours(message), s, pod) })),
    );
    for (const e of want) assert.ok(events.some((x) => x.type === e.type && x.reason === e.reason && (!e.message || x.message === e.message)), `Event ${JSON.stringify(e)}`);
    // The guide's Events in its order (first occurrence of each).
    const order = GUIDE_EVENTS.map(([type, reason, message]) =>
      events.findIndex((x) => x.type === type && x.reason === instantiate(reason, s, 'pg-1') && (!message || x.message === instantiate(ours(message), s, 'pg-1'))),
    );
    assert.deepEqual(order, [...order].sort((a, b) => a - b), `Events in the guide's order: ${JSON.stringify(events, null, 1)}`);
    assert.equal(w.pods().length, 2);
    assert.ok(w.pods().every((p) => p.metadata!.uid!.startsWith(`${p.metadata!.name}-`)), 'every pod was evicted and came back');
  });

  it('an eviction a PodDisruptionBudget refuses (429) is retried: EvictPod False and a Warning, then True', async () => {
    const w = new World();
    await w.setup();
    let refused = 0;
    w.kube.intercept((verb, ref) => (verb === 'evict' && ref.name === 'pg-1' && refused++ < 2 ? new KubeApiError(429, 'Cannot evict pod as it would violate the pod\'s disruption budget.', 'TooManyRequests') : undefined));
    w.recreateEvictedPods();
    w.createOps('rot', { rotateCertificates: true });
    assert.equal(await w.run('rot', w.reconciler(restarting)), 'Successful');
    assert.equal(refused, 3);
    const c = (await w.ops('rot')).status!.conditions!.find((x) => x.type === 'EvictPod--pg-1');
    assert.equal(c?.status, 'True');
    const warn = 'evict pod; ConditionStatus:False; PodName:pg-1';
    assert.ok((await w.events()).some((e) => e.type === 'Warning' && e.reason === warn && e.message === warn));
  });

  it('a reload with a CA change: pgtls\'s own conditions side by side with KubeDB\'s, which keep KubeDB\'s words', async () => {
    const w = new World();
    await w.setup('ca-a');
    w.createOps('chg', { issuerRef: { name: 'ca-b', kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    assert.equal(await w.run('chg'), 'Successful');
    const conds = (await w.ops('chg')).status!.conditions!;
    const own = conds.filter((c) => PGTLS_CONDITIONS.some(([re]) => re.test(c.type))).map((c) => c.type);
    assert.deepEqual(own.sort(), [
      'DropOldCA', 'ReloadPod--pg-0', 'ReloadPod--pg-1', 'ReloadPod-DropOldCA--pg-0', 'ReloadPod-DropOldCA--pg-1',
      'ReloadPod-TrustBundleUpdated--pg-0', 'ReloadPod-TrustBundleUpdated--pg-1', 'ReloadPods', 'TrustBundleUpdated',
    ]);
    assert.match(conds.find((c) => c.type === 'ReloadPod--pg-0')!.message!, /^reload pod; ConditionStatus:True; PodName:pg-0; took \d+ms; serves certificate /);
    const s: Subject = { kind: 'Postgres', opsKind: 'PostgresOpsRequest', namespace: NS, db: 'pg', op: 'chg' };
    for (const [type, , message] of GUIDE_CONDITIONS.filter(([t, r]) => r && t !== 'RestartPods')) {
      const c = conds.find((x) => x.type === type);
      assert.equal(c?.message, instantiate(ours(message), s, 'pg-0'), type);
    }
    assert.ok(!conds.some((c) => /^(GetPod|EvictPod|CheckPodRunning)--/.test(c.type)), 'nothing restarted');
    const events = await w.events();
    assert.ok(events.some((e) => e.reason === 'Successful' && e.message === 'Successfully paused Postgres database: demo/pg for PostgresOpsRequest: chg'));
  });
});
