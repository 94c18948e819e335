// `pgtls status` lines from the supervisor's records.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { componentLines, span } from '../../../src/cli/status.ts';
import type { ComponentStatus } from '../../../src/local/controlplane/cluster.ts';
import type { SupervisedRecord } from '../../../src/local/controlplane/restart-records.ts';

const now = Date.parse('2026-01-01T12:00:00Z');
const comp = { name: 'cert-manager', binary: '/bin/cm', args: [], links: [], ports: [] };
const rec = (r: Partial<SupervisedRecord>): SupervisedRecord => ({ name: 'cert-manager', state: 'running', restarts: 0, failures: 0, component: comp, ...r });

describe('status lines', () => {
  it('a running component without restarts is one line', () => {
    const c: ComponentStatus = { name: 'cert-manager', process: { state: 'running', pid: 42 }, healthy: true, supervised: rec({ pid: 42 }) };
    assert.deepEqual(componentLines(c, true, now), ['  cert-manager             running  pid 42']);
  });

  it('restarts, the last exit and its log lines', () => {
    const c: ComponentStatus = {
      name: 'cert-manager',
      process: { state: 'running', pid: 43 },
      healthy: true,
      supervised: rec({
        pid: 43,
        restarts: 2,
        lastExit: { at: '2026-01-01T11:57:00Z', code: 2, signal: null, ranMs: 800, duringStart: true, logTail: ['I0101 starting', 'fatal error: concurrent map read and map write', ''] },
      }),
    };
    assert.deepEqual(componentLines(c, true, now, 2), [
      '  cert-manager             running  pid 43',
      '                           restarts 2; last exit exit code 2 3 min ago during start-up',
      '                             | I0101 starting',
      '                             | fatal error: concurrent map read and map write',
    ]);
  });

  it('a component in back-off says when it restarts, while the supervisor runs', () => {
    const c: ComponentStatus = {
      name: 'cert-manager',
      process: { state: 'stale', pid: 43, reason: 'pid 43 from x is not running' },
      healthy: false,
      supervised: rec({ state: 'backoff', restarts: 1, nextStartAt: '2026-01-01T12:00:04Z', lastExit: { at: '2026-01-01T11:59:58Z', code: null, signal: 'SIGKILL', ranMs: 3_600_000, duringStart: false, logTail: [] } }),
    };
    const lines = componentLines(c, true, now);
    assert.equal(lines[0], '  cert-manager             restarting in 4 s');
    assert.equal(lines[1], '                           restarts 1; last exit signal SIGKILL 2 s ago after running 60 min');
    // Without a supervisor nothing will restart it.
    assert.match(componentLines(c, false, now)[0]!, /stopped {2}\(stale pid file: pid 43 from x is not running\)/);
  });

  it('spans read as people say them', () => {
    assert.deepEqual([span(400), span(119_000), span(3_000_000), span(7_200_000), span(-5)], ['0 s', '119 s', '50 min', '2 h', '0 s']);
  });
});
