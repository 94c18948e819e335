// The pure core of a pod on this node: container states, restart decisions
// with the kubelet's back-off, which container starts next, and the pod
// status the API sees. No processes, no timers: the runner feeds it facts
// and the time.
import type { V1Container, V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { isoSeconds } from './clock.ts';

export type State =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | { kind: 'terminated'; exitCode: number; reason: string; message?: string; startedAt: string; finishedAt: string };

export type Terminated = Extract<State, { kind: 'terminated' }>;

/** What the pure core knows of one container. */
export interface ContainerFacts {
  readonly spec: V1Container;
  readonly init: boolean;
  restartCount: number;
  state: State;
  /** The previous run, shown as lastState. */
  last?: State;
  ready: boolean;
  started: boolean;
  backoffMs: number;
  nextStartAt: number;
  /** The image digest once the image was resolved. */
  imageDigest?: string;
}

export const BACKOFF_MAX_MS = 300_000;
/** A container that ran this long starts its back-off over. */
export const BACKOFF_RESET_MS = 600_000;

export function restartPolicy(pod: V1Pod): string {
  return pod.spec?.restartPolicy ?? 'Always';
}

/** Whether a terminated container is started again (init containers until they succeed, unless Never). */
export function wantsRestart(policy: string, init: boolean, exitCode: number): boolean {
  if (init) return exitCode !== 0 && policy !== 'Never';
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** The kubelet's crash back-off: the base, doubling to 5 min, back to the base after 10 min of running. */
export function nextBackoff(previousMs: number, ranMs: number, baseMs: number): number {
  return ranMs > BACKOFF_RESET_MS || previousMs === 0 ? baseMs : Math.min(previousMs * 2, BACKOFF_MAX_MS);
}

/** Records an exit: the back-off before the next start, when one is due. */
export function afterExit(c: ContainerFacts, policy: string, now: number, baseMs: number): { restart: boolean } {
  const t = c.state as Terminated;
  if (!wantsRestart(policy, c.init, t.exitCode)) return { restart: false };
  c.backoffMs = nextBackoff(c.backoffMs, Date.parse(t.finishedAt) - Date.parse(t.startedAt), baseMs);
  c.nextStartAt = now + c.backoffMs;
  return { restart: true };
}

export const succeeded = (c: ContainerFacts) => c.state.kind === 'terminated' && c.state.exitCode === 0;

export function initsDone(inits: ContainerFacts[]): boolean {
  return inits.every(succeeded);
}

/**
 * The containers to start now, in order: the first unfinished init container
 * alone (init containers run one at a time), else every main container that
 * is not running and whose back-off has passed.
 */
export function toStart<C extends ContainerFacts>(inits: C[], mains: C[], policy: string, now: number): { c: C; restart: boolean }[] {
  for (const c of inits) {
    if (succeeded(c)) continue;
    if (c.state.kind === 'running') return [];
    if (c.state.kind === 'terminated') {
      if (policy === 'Never' || now < c.nextStartAt) return [];
      return [{ c, restart: true }];
    }
    return [{ c, restart: false }];
  }
  const out: { c: C; restart: boolean }[] = [];
  for (const c of mains) {
    if (c.state.kind === 'running') continue;
    if (c.state.kind === 'terminated') {
      if (!wantsRestart(policy, false, c.state.exitCode) || now < c.nextStartAt) continue;
      out.push({ c, restart: true });
    } else out.push({ c, restart: false });
  }
  return out;
}

/** A waiting container whose image could not be had: ErrImagePull first, then ImagePullBackOff. */
export function imageFailureState(previous: State, reason: string, message: string): State {
  const again = previous.kind === 'waiting' && (previous.reason === 'ErrImagePull' || previous.reason === 'ImagePullBackOff');
  return { kind: 'waiting', reason: reason === 'ErrImagePull' && again ? 'ImagePullBackOff' : reason, message };
}

export interface PodView {
  pod: V1Pod;
  uid: string;
  inits: ContainerFacts[];
  mains: ContainerFacts[];
  ip?: string;
  hostIP: string;
  startTime?: string;
  volumesReady: boolean;
  volumeError?: string;
  /** containerIDs for containers that have (had) a process. */
  hasProcess(c: ContainerFacts): boolean;
}

function apiState(s: State, containerID: string) {
  if (s.kind === 'waiting') return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
  if (s.kind === 'running') return { running: { startedAt: s.startedAt } };
  const t = { exitCode: s.exitCode, reason: s.reason, ...(s.message ? { message: s.message } : {}), startedAt: s.startedAt, finishedAt: s.finishedAt, containerID };
  return { terminated: t };
}

export function containerStatus(v: PodView, c: ContainerFacts, now: number): V1ContainerStatus {
  const id = `pgtls://${v.uid}/${c.spec.name}`;
  const policy = restartPolicy(v.pod);
  let shown: State = c.state;
  if (c.state.kind === 'terminated' && now < c.nextStartAt && wantsRestart(policy, c.init, c.state.exitCode)) {
    const name = c.spec.name;
    shown = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(c.backoffMs / 1000)}s restarting failed container=${name} pod=${v.pod.metadata!.name}_${v.pod.metadata!.namespace}(${v.uid})` };
  } else if (!c.init && c.state.kind === 'waiting' && c.state.reason === 'ContainerCreating' && !initsDone(v.inits)) {
    shown = { kind: 'waiting', reason: 'PodInitializing' };
  } else if (c.state.kind === 'waiting' && c.state.reason === 'ContainerCreating' && v.volumeError) {
    shown = { kind: 'waiting', reason: 'ContainerCreating', message: v.volumeError };
  }
  const last = shown.kind === 'waiting' && c.state.kind === 'terminated' ? c.state : c.last;
  return {
    name: c.spec.name,
    image: c.spec.image ?? '',
    imageID: c.imageDigest ? `pgtls-local://${c.spec.image}@${c.imageDigest}` : '',
    ...(v.hasProcess(c) || c.state.kind === 'terminated' ? { containerID: id } : {}),
    ready: c.ready,
    started: c.state.kind === 'running' ? c.started : false,
    restartCount: c.restartCount,
    state: apiState(shown, id) as never,
    lastState: (last ? apiState(last, id) : {}) as never,
  };
}

export function podPhase(v: PodView): string {
  const policy = restartPolicy(v.pod);
  const done = initsDone(v.inits);
  const mains = v.mains;
  const initFailed = v.inits.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0) && policy === 'Never';
  if (initFailed) return 'Failed';
  if (done && mains.some((c) => c.state.kind === 'running')) return 'Running';
  if (done && mains.every((c) => c.state.kind === 'terminated') && policy !== 'Always') {
    const failed = mains.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
    return failed ? (policy === 'Never' ? 'Failed' : 'Running') : 'Succeeded';
  }
  if (done && mains.some((c) => c.restartCount > 0 || c.state.kind === 'terminated')) return 'Running';
  return 'Pending';
}

export function podReady(v: PodView): boolean {
  return initsDone(v.inits) && v.mains.every((c) => c.ready) && v.mains.some((c) => c.state.kind === 'running');
}

export function podStatus(v: PodView, now: number): V1PodStatus {
  const t = isoSeconds(now);
  const phase = podPhase(v);
  const done = initsDone(v.inits);
  const cond = (type: string, ok: boolean, reason?: string) => {
    const old = v.pod.status?.conditions?.find((c) => c.type === type);
    const status = ok ? 'True' : 'False';
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : t,
      ...(ok || !reason ? {} : { reason }),
    };
  };
  const gates = (v.pod.spec?.readinessGates ?? []).every((g) => v.pod.status?.conditions?.some((c) => c.type === g.conditionType && c.status === 'True'));
  const ready = done && v.mains.every((c) => c.ready) && phase === 'Running';
  return {
    phase,
    conditions: [
      cond('PodReadyToStartContainers', Boolean(v.ip) && v.volumesReady),
      cond('Initialized', done, 'ContainersNotInitialized'),
      cond('Ready', ready && gates, 'ContainersNotReady'),
      cond('ContainersReady', ready, 'ContainersNotReady'),
      cond('PodScheduled', true),
    ] as never,
    hostIP: v.hostIP,
    hostIPs: [{ ip: v.hostIP }],
    ...(v.ip ? { podIP: v.ip, podIPs: [{ ip: v.ip }] } : {}),
    startTime: v.startTime as never,
    ...(v.inits.length > 0 ? { initContainerStatuses: v.inits.map((c) => containerStatus(v, c, now)) } : {}),
    containerStatuses: v.mains.map((c) => containerStatus(v, c, now)),
    qosClass: v.pod.status?.qosClass ?? 'BestEffort',
  };
}
