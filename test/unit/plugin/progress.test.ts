// tls …: the progress view read from an ops request's conditions, and what the
// follower prints in its two modes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { outcomeLine, podStep, progressView, stepLines, type OpsCondition, type OpsLike } from '../../../src/cli/plugin/tls/progress.ts';
import { exitCodeOf, Printer } from '../../../src/cli/plugin/tls/follow.ts';

const serves = (serial: string) => `serves certificate B0:6A (serial ${serial}, subject "CN=pg", issuer "CN=ca, O=kubedb")`;

// A rotation as the pgtls ops-manager recorded it (trimmed from a real run).
const ROTATE: OpsCondition[] = [
  { type: 'ReconfigureTLS', reason: 'ReconfigureTLS', status: 'True', lastTransitionTime: '2026-11-29T19:08:46.741Z', message: 'Postgres ops-request has started to reconfigure tls for Postgres nodes' },
  { type: 'DatabasePauseSucceeded', reason: 'DatabasePauseSucceeded', status: 'True', lastTransitionTime: '2026-11-29T19:08:47.631Z' },
  { type: 'IssueCertificatesSucceeded', reason: 'IssueCertificatesSucceeded', status: 'True', lastTransitionTime: '2026-11-29T19:08:50.273Z' },
  { type: 'GetCertificate', status: 'True', lastTransitionTime: '2026-11-29T19:08:53.429Z', message: 'get certificate; ConditionStatus:True; Certificate:pg-server-cert' },
  { type: 'CheckReadyCondition', status: 'True', lastTransitionTime: '2026-11-29T19:08:53.429Z', message: 'check ready condition; ConditionStatus:True; Certificate:pg-server-cert' },
  { type: 'CertificateSynced', reason: 'CertificateSynced', status: 'True', lastTransitionTime: '2026-11-29T19:08:53.608Z' },
  { type: 'UpdatePetSets', reason: 'UpdatePetSets', status: 'True', lastTransitionTime: '2026-11-29T19:08:54.753Z' },
  { type: 'ReloadPod--pg-0', status: 'True', lastTransitionTime: '2026-11-29T19:08:56.069Z', message: `reload pod; ConditionStatus:True; PodName:pg-0; took 325ms; ${serves('629B')}` },
  { type: 'ReloadPod--pg-1', status: 'True', lastTransitionTime: '2026-11-29T19:08:56.337Z', message: `reload pod; ConditionStatus:True; PodName:pg-1; took 113ms; ${serves('629B')}` },
  { type: 'ReloadPods', reason: 'ReloadPods', status: 'True', lastTransitionTime: '2026-11-29T19:08:56.374Z' },
  { type: 'UpdateDatabase', reason: 'UpdateDatabase', status: 'True', lastTransitionTime: '2026-11-29T19:08:56.879Z' },
  { type: 'Successful', reason: 'Successful', status: 'True', lastTransitionTime: '2026-11-29T19:08:57.437Z', message: 'Successfully updated Postgres TLS' },
];

const op = (conditions: OpsCondition[], phase: string, annotations: Record<string, string> = {}): OpsLike => ({
  kind: 'PostgresOpsRequest',
  metadata: { name: 'pg-rotate-tls-x94vb', namespace: 'demo', creationTimestamp: '2026-11-29T19:08:46Z', annotations },
  spec: { type: 'ReconfigureTLS', databaseRef: { name: 'pg' } },
  status: { phase, conditions },
});

describe('plugin: ops request progress', () => {
  it('reads per-pod sub-steps: action, reload time, served serial', () => {
    assert.deepEqual(podStep(ROTATE[7]!), { pod: 'pg-0', action: 'reload pod', ok: true, ms: 325, serves: 'serial 629B' });
    assert.deepEqual(podStep({ type: 'ReloadPod--pg-1', status: 'True', message: 'reload pod; ConditionStatus:True; PodName:pg-1; took 9ms; serves no TLS (the server answered N to SSLRequest)' })?.serves, 'no TLS');
    // KubeDB's own restart sub-steps carry no time.
    assert.deepEqual(podStep({ type: 'EvictPod--pgpool-0', status: 'False', message: 'evict pod; ConditionStatus:False; PodName:pgpool-0' }), { pod: 'pgpool-0', action: 'evict pod', ok: false });
    assert.equal(podStep(ROTATE[3]!), undefined);
  });

  it('a finished request: the steps in order, each timed from the one before, pods under their step', () => {
    const v = progressView(op(ROTATE, 'Successful'));
    assert.deepEqual(v.steps.map((s) => [s.type, s.state, s.tookMs]), [
      ['DatabasePauseSucceeded', 'done', 890],
      ['IssueCertificatesSucceeded', 'done', 2642],
      ['CertificateSynced', 'done', 3335],
      ['UpdatePetSets', 'done', 1145],
      ['ReloadPods', 'done', 1621],
      ['UpdateDatabase', 'done', 505],
      ['Successful', 'done', 558],
    ]);
    assert.deepEqual(v.steps[4]!.pods.map((p) => `${p.pod} ${p.ms}`), ['pg-0 325', 'pg-1 113']);
    assert.deepEqual(v.steps[2]!.details, ['get certificate (pg-server-cert)', 'check ready condition (pg-server-cert)']);
    assert.equal(v.elapsedMs, 10_696);
    assert.equal(v.ended, true);
    assert.equal(outcomeLine(v), 'PostgresOpsRequest demo/pg-rotate-tls-x94vb: Successful in 10.7s');
    assert.deepEqual(stepLines(v.steps[4]!), [
      '  ✓ ReloadPods                          1.6s',
      '      pg-0: reload pod in 325ms, serves serial 629B',
      '      pg-1: reload pod in 113ms, serves serial 629B',
    ]);
  });

  it('a running request: the step in progress, named by the operator\'s note or by its sub-steps', () => {
    const now = new Date('2026-11-29T19:08:56.200Z');
    const midReload = ROTATE.slice(0, 8);
    let v = progressView(op(midReload, 'Progressing', { 'ops.pgtls.dev/step': 'ReloadPods@2026-11-29T19:08:54.800Z' }), now);
    const run = v.steps.at(-1)!;
    assert.deepEqual([run.type, run.state, run.tookMs, run.pods.map((p) => p.pod)], ['ReloadPods', 'running', 1400, ['pg-0']]);
    assert.equal(v.ended, false);
    // The note where pgtls keeps it now: status.progress.step (issue 11 item 2).
    const inStatus = op(midReload, 'Progressing');
    inStatus.status = { ...inStatus.status, progress: { step: { name: 'ReloadPods', startedAt: '2026-11-29T19:08:54.800Z' } } };
    v = progressView(inStatus, now);
    assert.deepEqual([v.steps.at(-1)!.type, v.steps.at(-1)!.tookMs], ['ReloadPods', 1400]);
    // Without the note (KubeDB's operator), the sub-step's name tells the step.
    v = progressView(op(midReload, 'Progressing'), now);
    assert.equal(v.steps.at(-1)!.type, 'ReloadPods');
    // A stale note (a step already done) is not the running step.
    v = progressView(op(ROTATE.slice(0, 10), 'Progressing', { 'ops.pgtls.dev/step': 'ReloadPods@2026-11-29T19:08:54.800Z' }), now);
    assert.equal(v.steps.at(-1)!.type, 'next step');
    assert.match(stepLines(v.steps.at(-1)!)[0]!, /^ {2}… next step\s+\S+ so far$/);
  });

  it('a failed request shows the failure and exits 3; a skipped one says why and exits 4', () => {
    // KubeDB turns the opening condition itself False (reason Failed): it keeps its place in the list.
    const failed = [
      { type: 'ReconfigureTLS', reason: 'Failed', status: 'False', lastTransitionTime: '2026-11-29T19:09:47.000Z', message: 'step CertificateSynced did not finish within 1m' },
      ...ROTATE.slice(1, 4),
    ];
    const v = progressView(op(failed, 'Failed'));
    assert.deepEqual(v.steps.map((s) => [s.type, s.state, s.tookMs]), [
      ['DatabasePauseSucceeded', 'done', 1631],
      ['IssueCertificatesSucceeded', 'done', 2642],
      ['Failed', 'failed', 56_727],
    ]);
    assert.equal(outcomeLine(v), 'PostgresOpsRequest demo/pg-rotate-tls-x94vb: Failed after 1m01s: step CertificateSynced did not finish within 1m');
    assert.match(stepLines(v.steps.at(-1)!)[0]!, /^ {2}✗ Failed\s+56\.7s {2}step CertificateSynced did not finish within 1m$/);
    assert.equal(exitCodeOf('Failed'), 3);
    const skipped = progressView(op([{ type: 'Skipped', reason: 'Skipped', status: 'True', lastTransitionTime: '2026-11-29T19:08:47Z', message: 'skipped as demo/b is the most updated PostgresOpsRequest of type ReconfigureTLS at 2026-11-29T19:08:46Z' }], 'Skipped'));
    assert.match(outcomeLine(skipped), /: Skipped: skipped as demo\/b is the most updated/);
    assert.equal(exitCodeOf('Skipped'), 4);
    assert.equal(exitCodeOf('Successful'), 0);
    assert.equal(exitCodeOf('Progressing'), 5);
  });
});

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

describe('plugin: progress printers', () => {
  // The same request seen at three polls.
  const polls = [op(ROTATE.slice(0, 4), 'Progressing'), op(ROTATE.slice(0, 9), 'Progressing'), op(ROTATE, 'Successful')];

  it('plain (no terminal): each finished step once, with its pods; the same whatever the polls saw', () => {
    const a = sink();
    const pa = new Printer({ out: a, live: false, timeoutMs: 1 });
    for (const p of polls) pa.show(progressView(p));
    const b = sink();
    new Printer({ out: b, live: false, timeoutMs: 1 }).show(progressView(polls[2]!));
    assert.equal(a.text, b.text);
    assert.equal(
      a.text,
      [
        'PostgresOpsRequest demo/pg-rotate-tls-x94vb (database pg)',
        '  ✓ DatabasePauseSucceeded             890ms',
        '  ✓ IssueCertificatesSucceeded          2.6s',
        '  ✓ CertificateSynced                   3.3s',
        '  ✓ UpdatePetSets                       1.1s',
        '  ✓ ReloadPods                          1.6s',
        '      pg-0: reload pod in 325ms, serves serial 629B',
        '      pg-1: reload pod in 113ms, serves serial 629B',
        '  ✓ UpdateDatabase                     505ms',
        '  ✓ Successful                         558ms',
        '',
      ].join('\n'),
    );
    assert.ok(!a.text.includes("\x1b"));
  });

  it('plain: a heartbeat line while nothing finishes (PGTLS_PROGRESS_HEARTBEAT seconds; 0: none)', async () => {
    const pending = op([], 'Pending');
    const saved = process.env.PGTLS_PROGRESS_HEARTBEAT;
    try {
      for (const [every, expect] of [['0.001', true], ['0', false]] as const) {
        process.env.PGTLS_PROGRESS_HEARTBEAT = every;
        const out = sink();
        const p = new Printer({ out, live: false, timeoutMs: 1 });
        p.show(progressView(pending, new Date('2026-11-29T19:09:15Z'))); // the header line
        await new Promise((r) => setTimeout(r, 5));
        p.show(progressView(pending, new Date('2026-11-29T19:09:16Z')));
        assert.equal(/^ {2}… Pending for 30\.0s \(with apply: IfReady it waits for the database to be Ready/m.test(out.text), expect, `${every}: ${out.text}`);
      }
    } finally {
      if (saved === undefined) delete process.env.PGTLS_PROGRESS_HEARTBEAT;
      else process.env.PGTLS_PROGRESS_HEARTBEAT = saved;
    }
  });

  it('live (terminal): one block redrawn in place', () => {
    const out = sink();
    const p = new Printer({ out, live: true, timeoutMs: 1 });
    const now = new Date('2026-11-29T19:08:56.200Z');
    p.show(progressView(polls[0]!, now));
    const first = out.text.split('\n').length - 1;
    p.show(progressView(polls[1]!, now));
    // The second frame starts by moving up over the first and clearing it.
    assert.ok(out.text.includes(`\x1b[${first}A\x1b[0J`), JSON.stringify(out.text));
    assert.match(out.text, /PostgresOpsRequest demo\/pg-rotate-tls-x94vb \(database pg\): Progressing, /);
    assert.match(out.text, / {2}… ReloadPods\s+\S+ so far\n {6}pg-0: reload pod in 325ms/);
  });
});
