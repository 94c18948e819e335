// preStop hooks as the kubelet bounds them: inside the grace period, SIGTERM after.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { graceAfterHooks, preStopActions } from '../../../src/local/node/pre-stop.ts';

describe('preStop hooks', () => {
  it('sleeps and execs, each bounded by the grace period; httpGet is said, not skipped silently', () => {
    const acts = preStopActions(
      [
        { name: 'pgpool', image: 'x', lifecycle: { preStop: { sleep: { seconds: 5 } } } },
        { name: 'long', image: 'x', lifecycle: { preStop: { sleep: { seconds: 120 } } } },
        { name: 'drain', image: 'x', lifecycle: { preStop: { exec: { command: ['pgbouncer-drain'] } } } },
        { name: 'web', image: 'x', lifecycle: { preStop: { httpGet: { port: 8080 } } } },
        { name: 'none', image: 'x' },
      ],
      30,
    );
    assert.deepEqual(acts, [
      { container: 'pgpool', kind: 'sleep', ms: 5000 },
      { container: 'long', kind: 'sleep', ms: 30_000 },
      { container: 'drain', kind: 'exec', argv: ['pgbouncer-drain'], timeoutMs: 30_000 },
      { container: 'web', kind: 'unsupported', detail: 'httpGet preStop hooks are not run by this node' },
    ]);
  });

  it('leaves the rest of the grace period for SIGTERM, never less than 2 s', () => {
    assert.equal(graceAfterHooks(30, 5000), 25);
    assert.equal(graceAfterHooks(30, 29_500), 2);
    assert.equal(graceAfterHooks(10, 60_000), 2);
  });
});
