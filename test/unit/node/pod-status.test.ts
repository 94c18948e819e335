// The pure core of a pod: restart decisions, back-off, start order, status.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import {
  afterExit,
  containerStatus,
  imageFailureState,
  nextBackoff,
  podPhase,
  podStatus,
  toStart,
  wantsRestart,
  type ContainerFacts,
  type PodView,
  type State,
} from '../../../src/local/node/pod-status.ts';
import { isoSeconds } from '../../../src/local/node/clock.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function facts(name: string, init = false, state: State = { kind: 'waiting', reason: 'ContainerCreating' }): ContainerFacts {
  return { spec: { name, image: 'img:1' } as V1Container, init, restartCount: 0, state, ready: false, started: false, backoffMs: 0, nextStartAt: 0 };
}

const ended = (exitCode: number, ranMs = 1000, end = T0): State => ({ kind: 'terminated', exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: isoSeconds(end - ranMs), finishedAt: isoSeconds(end) });

const pod = (restartPolicy?: string): V1Pod => ({ metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { containers: [], ...(restartPolicy ? { restartPolicy } : {}) } });

const view = (p: V1Pod, inits: ContainerFacts[], mains: ContainerFacts[]): PodView => ({
  pod: p,
  uid: 'u',
  inits,
  mains,
  ip: '10.244.0.2',
  hostIP: '10.244.0.1',
  volumesReady: true,
  hasProcess: (c) => c.state.kind === 'running',
});

describe('restart policy and back-off', () => {
  it('restarts as the kubelet does', () => {
    assert.equal(wantsRestart('Always', false, 0), true);
    assert.equal(wantsRestart('OnFailure', false, 0), false);
    assert.equal(wantsRestart('OnFailure', false, 1), true);
    assert.equal(wantsRestart('Never', false, 1), false);
    assert.equal(wantsRestart('Always', true, 0), false, 'a succeeded init container is done');
    assert.equal(wantsRestart('Always', true, 2), true);
    assert.equal(wantsRestart('Never', true, 2), false);
  });

  it('doubles from the base to 5 minutes and starts over after 10 minutes of running', () => {
    assert.equal(nextBackoff(0, 1000, 10_000), 10_000);
    assert.equal(nextBackoff(10_000, 1000, 10_000), 20_000);
    assert.equal(nextBackoff(160_000, 1000, 10_000), 300_000);
    assert.equal(nextBackoff(300_000, 1000, 10_000), 300_000);
    assert.equal(nextBackoff(300_000, 600_001, 10_000), 10_000);
    const c = facts('c', false, ended(3));
    assert.deepEqual(afterExit(c, 'Always', T0, 10_000), { restart: true });
    assert.equal(c.nextStartAt, T0 + 10_000);
    c.state = ended(0);
    assert.deepEqual(afterExit(c, 'OnFailure', T0, 10_000), { restart: false });
  });
});

describe('what starts next', () => {
  it('runs init containers one at a time, then every main container', () => {
    const i1 = facts('i1', true);
    const i2 = facts('i2', true);
    const m1 = facts('m1');
    const m2 = facts('m2');
    assert.deepEqual(toStart([i1, i2], [m1, m2], 'Always', T0).map((x) => x.c.spec.name), ['i1']);
    i1.state = { kind: 'running', startedAt: isoSeconds(T0) };
    assert.deepEqual(toStart([i1, i2], [m1, m2], 'Always', T0), []);
    i1.state = ended(0);
    assert.deepEqual(toStart([i1, i2], [m1, m2], 'Always', T0).map((x) => x.c.spec.name), ['i2']);
    i2.state = ended(0);
    assert.deepEqual(toStart([i1, i2], [m1, m2], 'Always', T0).map((x) => x.c.spec.name), ['m1', 'm2']);
  });

  it('waits out the back-off, and never restarts with Never', () => {
    const m = facts('m', false, ended(1));
    m.nextStartAt = T0 + 10_000;
    assert.deepEqual(toStart([], [m], 'Always', T0), []);
    assert.deepEqual(toStart([], [m], 'Always', T0 + 10_000), [{ c: m, restart: true }]);
    assert.deepEqual(toStart([], [m], 'Never', T0 + 10_000), []);
    const failedInit = facts('i', true, ended(1));
    assert.deepEqual(toStart([failedInit], [facts('m')], 'Never', T0), []);
  });

  it('turns a repeated pull failure into ImagePullBackOff', () => {
    const first = imageFailureState({ kind: 'waiting', reason: 'ContainerCreating' }, 'ErrImagePull', 'unknown');
    assert.equal(first.kind === 'waiting' && first.reason, 'ErrImagePull');
    const again = imageFailureState(first, 'ErrImagePull', 'unknown');
    assert.equal(again.kind === 'waiting' && again.reason, 'ImagePullBackOff');
    assert.equal((imageFailureState(first, 'ErrImageNeverPull', 'x') as { reason: string }).reason, 'ErrImageNeverPull');
  });
});

describe('pod status', () => {
  it('shows CrashLoopBackOff with the last run, while the back-off lasts', () => {
    const m = facts('m', false, ended(3));
    m.restartCount = 2;
    m.backoffMs = 20_000;
    m.nextStartAt = T0 + 20_000;
    const st = containerStatus(view(pod(), [], [m]), m, T0);
    assert.equal(st.state?.waiting?.reason, 'CrashLoopBackOff');
    assert.match(st.state?.waiting?.message ?? '', /back-off 20s restarting failed container=m pod=p_ns\(u\)/);
    assert.equal(st.lastState?.terminated?.exitCode, 3);
    assert.equal(containerStatus(view(pod(), [], [m]), m, T0 + 20_000).state?.terminated?.exitCode, 3);
  });

  it('derives phase and conditions', () => {
    const m = facts('m', false, { kind: 'running', startedAt: isoSeconds(T0) });
    m.ready = true;
    const v = view(pod(), [facts('i', true, ended(0))], [m]);
    assert.equal(podPhase(v), 'Running');
    const st = podStatus(v, T0);
    assert.deepEqual(st.conditions?.map((c) => `${c.type}=${c.status}`), ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']);
    assert.equal(st.podIP, '10.244.0.2');
    assert.equal(st.hostIP, '10.244.0.1');
    const waitingInit = view(pod(), [facts('i', true)], [facts('m')]);
    assert.equal(podPhase(waitingInit), 'Pending');
    assert.equal(podStatus(waitingInit, T0).containerStatuses?.[0]?.state?.waiting?.reason, 'PodInitializing');
    assert.equal(podPhase(view(pod('Never'), [], [facts('m', false, ended(1))])), 'Failed');
    assert.equal(podPhase(view(pod('OnFailure'), [], [facts('m', false, ended(0))])), 'Succeeded');
    assert.equal(podPhase(view(pod('Never'), [facts('i', true, ended(2))], [facts('m')])), 'Failed');
  });
});
