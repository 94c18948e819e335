// Applies one TLS state to every server of a database and proves it from the
// wire, the way the kind's engine takes a change: reload in place (PostgreSQL,
// PgBouncer) or restart pod by pod, each Ready before the next (Pgpool-II 4.3).
// The files reach the pods through secret volumes, which lag the Secret a
// little, so a reload is repeated until the server serves what is expected,
// within a deadline.
import type { k8s } from '../kube/client.ts';
import { ExecTimeoutError, statusCode } from '../kube/api.ts';
import { errorText } from '../kube/controller.ts';
import type { DbObject } from '../api/objects.ts';
import { expectFor, type Expect } from '../engines/engine.ts';
import { probeTls, describe, type ProbeResult } from '../engines/shared/probe.ts';
import { metrics } from '../observability/metrics.ts';
import { fingerprint256 } from '../certs/index.ts';
import { selectorLabels } from '../kinds/info.ts';
import type { Kind } from '../kinds/types.ts';
import { ownedPods, podReady } from '../provisioner/objects.ts';
import type { ProvisionerContext } from '../provisioner/context.ts';
import type { StagedTls } from '../provisioner/specs/tls-staging.ts';
import { governingServiceName } from '../provisioner/specs/services.ts';
import { dialPod } from '../provisioner/dial.ts';
import { filesMark, reloadWhenFilesCurrent, type CheckedReload } from './pod-files.ts';

export { expectFor, type Expect };

export interface PodResult {
  pod: string;
  path: 'reload' | 'restart';
  ms: number;
  attempts: number;
  served: string;
}

export class RolloutError extends Error {}

/** One pgwire TLS probe of a pod; the fake in unit tests stands in for the network. */
export type PodProbe = (target: { host: string; port: number; serverName: string }, opts: { timeoutMs: number; ca?: string }) => Promise<ProbeResult>;

export interface RolloutContext extends ProvisionerContext {
  probe?: PodProbe;
}

function serves(r: ProbeResult, e: Expect): boolean {
  if (e === 'no-ssl') return r.kind === 'no-ssl';
  return r.kind === 'tls' && r.fingerprint256 === fingerprint256(e.certPem) && r.authorized === true;
}

/** Probes the pod's address, checking the certificate against its stable DNS name, as a client would. */
export async function probePod(ctx: RolloutContext, pod: k8s.V1Pod, port: number, e: Expect): Promise<ProbeResult> {
  const db = pod.metadata?.labels?.['app.kubernetes.io/instance'] ?? '';
  const serverName = `${pod.metadata!.name}.${governingServiceName(db)}.${pod.metadata!.namespace}.svc`;
  const r = ctx.probe
    ? await ctx.probe({ host: pod.status!.podIP!, port, serverName }, { timeoutMs: 2000, ca: e === 'no-ssl' ? undefined : e.ca })
    : await probeTls({ ...dialPod(ctx.kube, pod.status!.podIP!, port), serverName }, { timeoutMs: 2000, ca: e === 'no-ssl' ? undefined : e.ca });
  // Every probe (rollouts and the periodic prober) updates the served-certificate gauges.
  metrics.served.observePod(pod, r);
  return r;
}

/** Writes the state (config and staged TLS) through the kind's provisioner. */
export async function applyState(ctx: ProvisionerContext, k: Kind, db: DbObject, staged: StagedTls | null): Promise<void> {
  await k.provisioner.apply(ctx, db, staged);
}

export async function podsOf(ctx: ProvisionerContext, k: Kind, db: DbObject): Promise<k8s.V1Pod[]> {
  // Only the StatefulSet's own pods are exec'd into or restarted, never a look-alike.
  const { owned } = await ownedPods(ctx.kube, db.metadata.namespace!, db.metadata.name!, selectorLabels(k.info, db.metadata.name!));
  return k.ops.order(owned);
}

/** The annotation that asks a kubelet to refresh a pod's Secret volumes now. */
export const SECRET_SYNC_ANNOTATION = 'pgtls.dev/secret-sync';

/** Which TLS state a pod was nudged for (pure): one PATCH per pod and state, however many passes. */
export function secretSyncMark(e: Expect): string {
  return e === 'no-ssl' ? 'no-ssl' : fingerprint256(e.certPem).replace(/:/g, '').slice(0, 16).toLowerCase();
}

/**
 * A kubelet refreshes Secret volumes on its periodic pod sync (60–90 s on a
 * real kubelet); an update of the pod makes it sync that pod at once. So while
 * a pod's files (or, where they cannot be compared, what it serves) lag, annotate
 * the pod once for the state it should reach.
 */
async function nudgeSecretVolumes(ctx: RolloutContext, pod: k8s.V1Pod, mark: string): Promise<void> {
  if (pod.metadata?.annotations?.[SECRET_SYNC_ANNOTATION] === mark) return;
  const ref = { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, namespace: pod.metadata!.namespace! };
  await ctx.kube.patch(ref, { metadata: { annotations: { [SECRET_SYNC_ANNOTATION]: mark } } }).catch((err: unknown) => ctx.log.warn({ pod: ref.name, err: errorText(err) }, 'could not annotate the pod to refresh its Secret volumes'));
  (pod.metadata!.annotations ??= {})[SECRET_SYNC_ANNOTATION] = mark;
}

/**
 * Files first: a reload before the kubelet has written them changes nothing, and the wire cannot show
 * a trust bundle or a config line (a new CA trusted, an old one dropped). One exec checks the files
 * and reloads only if they are current; else the pod is nudged once for them and the paths that
 * still lag are returned.
 */
async function reloadWhenCurrent(ctx: RolloutContext, k: Kind, pod: k8s.V1Pod): Promise<CheckedReload> {
  const db = pod.metadata?.labels?.['app.kubernetes.io/instance'] ?? '';
  const r = await reloadWhenFilesCurrent(ctx.kube, pod, k.engine.container, db, k.engine.reloadCommand, 20_000);
  if (!r.reloaded) await nudgeSecretVolumes(ctx, pod, filesMark(r.want));
  return r;
}

/** Reload one pod until it serves `e`; bounded by the deadline. */
export async function reloadPod(ctx: RolloutContext, k: Kind, pod: k8s.V1Pod, e: Expect, deadline: number, port: number): Promise<PodResult> {
  const { clock } = ctx;
  const name = pod.metadata!.name!;
  const t0 = clock.now();
  let attempts = 0;
  let last: ProbeResult = { kind: 'error', error: 'not probed' };
  while (clock.now() < deadline && attempts < 600) {
    attempts++;
    const done = await reloadWhenCurrent(ctx, k, pod);
    if (!done.reloaded) {
      if (attempts % 10 === 0) ctx.log.warn({ pod: name, attempts, stale: done.stale }, 'waiting for the kubelet to write the Secret files into the pod');
      await clock.sleep(Math.min(1000, 100 * attempts));
      continue;
    }
    const r = done.result;
    if (r.exitCode !== 0) throw new RolloutError(`reload in ${name} failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`);
    // The reload is asynchronous in the server: give it a few probes before reloading again.
    for (let i = 0; i < 10; i++) {
      last = await probePod(ctx, pod, port, e);
      if (serves(last, e)) return { pod: name, path: 'reload', ms: clock.now() - t0, attempts, served: describe(last) };
      await clock.sleep(50);
    }
    await nudgeSecretVolumes(ctx, pod, secretSyncMark(e));
    if (attempts % 10 === 0) ctx.log.warn({ pod: name, attempts, served: describe(last) }, 'reloaded, but the expected TLS state is not served yet');
    await clock.sleep(Math.min(1000, 100 * attempts));
  }
  throw new RolloutError(`${name} does not serve the new TLS state after ${attempts} reloads: ${describe(last)} (a rejected file keeps the old configuration)`);
}

/** KubeDB's per-pod restart sub-steps, reported as they pass (ok) or wait (not ok, once). */
export type RestartStep = 'GetPod' | 'EvictPod' | 'CheckPodRunning';
export type OnRestartStep = (step: RestartStep, ok: boolean, pod: string) => Promise<void>;

/**
 * Evict the pod (as KubeDB's ops-manager does, so a PodDisruptionBudget is
 * honoured: 429 is retried until the deadline); the StatefulSet recreates it
 * with the current files; wait for Ready and the wire.
 */
export async function restartPod(ctx: RolloutContext, pod: k8s.V1Pod, e: Expect, deadline: number, port: number, onStep: OnRestartStep = async () => undefined): Promise<PodResult> {
  const { clock } = ctx;
  const t0 = clock.now();
  const ns = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const current = await ctx.kube.get<k8s.V1Pod>('v1', 'Pod', name, ns);
  await onStep('GetPod', true, name);
  // The pod as listed may already have been replaced (a retry after a crash): evict the one that runs now.
  const oldUid = current?.metadata?.uid ?? pod.metadata!.uid;
  for (let blocked = 0; current; blocked++) {
    try {
      // Already gone is as good as evicted.
      await ctx.kube.evict({ name, namespace: ns, uid: oldUid });
      break;
    } catch (err) {
      if (statusCode(err) !== 429) throw err;
      if (blocked === 0) await onStep('EvictPod', false, name);
      if (clock.now() >= deadline) throw new RolloutError(`${name} could not be evicted before the deadline: ${errorText(err)}`);
      await clock.sleep(Math.min(5_000, 500 * (blocked + 1)));
    }
  }
  await onStep('EvictPod', true, name);
  let attempts = 0;
  let waiting = false;
  let last: ProbeResult = { kind: 'error', error: 'not started' };
  while (clock.now() < deadline && attempts < 2000) {
    attempts++;
    const p = await ctx.kube.get<k8s.V1Pod>('v1', 'Pod', name, ns);
    if (p && p.metadata?.uid !== oldUid && podReady(p) && p.status?.podIP) {
      last = await probePod(ctx, p, port, e);
      if (serves(last, e)) {
        await onStep('CheckPodRunning', true, name);
        return { pod: name, path: 'restart', ms: clock.now() - t0, attempts, served: describe(last) };
      }
    }
    if (!waiting) {
      waiting = true;
      await onStep('CheckPodRunning', false, name);
    }
    await clock.sleep(250);
  }
  throw new RolloutError(`${name} did not come back serving the new TLS state: ${describe(last)}`);
}

/**
 * The pod once it is Ready with an address. A pod being replaced (deleted by
 * somebody, evicted, crashed) is waited for within the deadline: its
 * successor starts with the current files, and failing the whole request
 * (and its rollback, which rolls the same pods) for it would be worse.
 */
async function readyPod(ctx: RolloutContext, pod: k8s.V1Pod, deadline: number): Promise<k8s.V1Pod> {
  const name = pod.metadata!.name!;
  let p: k8s.V1Pod | undefined = pod;
  for (let i = 0; i < 10_000; i++) {
    if (p && !p.metadata?.deletionTimestamp && p.status?.podIP && podReady(p)) return p;
    if (ctx.clock.now() >= deadline) break;
    if (i % 20 === 19) ctx.log.info({ pod: name }, 'waiting for the pod to be ready before it takes the new TLS state');
    await ctx.clock.sleep(500);
    p = await ctx.kube.get<k8s.V1Pod>('v1', 'Pod', name, pod.metadata!.namespace);
  }
  throw new RolloutError(`pod ${name} is not ready`);
}

/** Every pod, in the kind's order, takes the state the engine's way; `onPod` records progress per pod. */
export async function rollPods(
  ctx: RolloutContext,
  k: Kind,
  db: DbObject,
  e: Expect,
  deadline: number,
  done: ReadonlySet<string>,
  onPod: (r: PodResult) => Promise<void>,
  path: 'reload' | 'restart' = k.engine.tlsChange,
  onStep?: OnRestartStep,
): Promise<void> {
  const port = k.ops.port(db);
  for (const listed of await podsOf(ctx, k, db)) {
    if (done.has(listed.metadata!.name!)) continue;
    const pod = await readyPod(ctx, listed, deadline);
    const r = path === 'reload' ? await reloadPod(ctx, k, pod, e, deadline, port) : await restartPod(ctx, pod, e, deadline, port, onStep);
    await onPod(r);
  }
}

// ---- One pass at a time: an ops request's rollout never holds a worker while it waits ----

/**
 * Where a rollout spread over passes keeps the pod it is restarting (an
 * annotation of the ops request), so that a pass, or a restarted operator,
 * waits for that pod instead of deleting the next one.
 */
export interface RolloutMark {
  get(): string | undefined;
  set(value: string | null): Promise<void>;
}

/** Either every pod is done, or the next pass should come after waitMs. */
export type PassResult = { done: true } | { done: false; waitMs: number; waitingFor: string };

/** How long to wait before looking at a pod again: short, the server is usually quick. */
const PASS_WAIT_MS = 500;

interface Restarting {
  pod: string;
  uid: string;
  since: number;
}

/** `<pod> <uid> <ms since epoch>` (pure both ways). */
export function formatRestarting(r: Restarting): string {
  return `${r.pod} ${r.uid} ${r.since}`;
}

export function parseRestarting(v: string | undefined): Restarting | undefined {
  const [pod, uid, since] = (v ?? '').split(' ');
  return pod && uid && since && Number.isFinite(Number(since)) ? { pod, uid, since: Number(since) } : undefined;
}

/**
 * Reload, then probe briefly; not serving yet: come back later (the next pass
 * reloads again). Always a reload first: a state that changes only what the
 * server trusts (both CAs, then the new one alone) looks the same on the wire.
 */
async function reloadPass(ctx: RolloutContext, k: Kind, pod: k8s.V1Pod, e: Expect, port: number): Promise<PodResult | string> {
  const { clock } = ctx;
  const name = pod.metadata!.name!;
  const t0 = clock.now();
  // The file check with its reload is safe to repeat: an exec that times out (a busy
  // node or API server; seen at 100 databases at once) is a wait, bounded by the
  // step's deadline, not a failure that spends the request's retries.
  let done: CheckedReload;
  try {
    done = await reloadWhenCurrent(ctx, k, pod);
  } catch (err) {
    if (!(err instanceof ExecTimeoutError)) throw err;
    return `${name} to answer the file check and reload (${err.message})`;
  }
  if (!done.reloaded) return `${name} to hold the Secrets' files (${done.stale.join(', ')}) before its reload`;
  const r = done.result;
  if (r.exitCode !== 0) throw new RolloutError(`reload in ${name} failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`);
  // The reload is asynchronous in the server: a few quick probes catch the usual case in this pass.
  let last: ProbeResult = { kind: 'error', error: 'not probed' };
  for (let i = 0; i < 5; i++) {
    last = await probePod(ctx, pod, port, e);
    if (serves(last, e)) return { pod: name, path: 'reload', ms: clock.now() - t0, attempts: 1, served: describe(last) };
    await clock.sleep(50);
  }
  await nudgeSecretVolumes(ctx, pod, secretSyncMark(e));
  return `${name} to serve the new TLS state after a reload (serves ${describe(last)}; the secret volume may lag)`;
}

/**
 * Evicts a pod (a PodDisruptionBudget is honoured: a refusal is a wait, retried
 * on the next pass until the step's deadline). Undefined once evicted (or gone).
 */
async function evictOnce(ctx: RolloutContext, name: string, namespace: string, uid: string, onStep: OnRestartStep): Promise<string | undefined> {
  try {
    // By uid: a successor of the same name (already restarted) must not be evicted again.
    await ctx.kube.evict({ name, namespace, uid });
  } catch (err) {
    if (statusCode(err) !== 429) throw err;
    await onStep('EvictPod', false, name);
    return `${name} to be evicted (refused for now: ${errorText(err)})`;
  }
  await onStep('EvictPod', true, name);
  // From here the pod is awaited: KubeDB's CheckPodRunning, not yet true.
  await onStep('CheckPodRunning', false, name);
  return undefined;
}

/**
 * Restart: evict the pod once (noted first, as KubeDB's GetPod/EvictPod), then
 * each pass looks whether its successor is Ready and serving (CheckPodRunning).
 */
async function restartPass(
  ctx: RolloutContext,
  pod: { name: string; namespace: string; uid?: string },
  e: Expect,
  port: number,
  mark: RolloutMark,
  onStep: OnRestartStep,
): Promise<PodResult | string> {
  const { clock } = ctx;
  const noted = parseRestarting(mark.get());
  if (noted?.pod !== pod.name) {
    if (!pod.uid) return `${pod.name} to exist`;
    await onStep('GetPod', true, pod.name);
    await mark.set(formatRestarting({ pod: pod.name, uid: pod.uid, since: clock.now() }));
    return (await evictOnce(ctx, pod.name, pod.namespace, pod.uid, onStep)) ?? `${pod.name} to come back after its restart`;
  }
  const p = await ctx.kube.get<k8s.V1Pod>('v1', 'Pod', pod.name, pod.namespace);
  if (p && p.metadata?.uid === noted.uid) {
    // Noted but not evicted (the operator stopped in between, or a budget refused it), or still terminating.
    if (!p.metadata?.deletionTimestamp) {
      const refused = await evictOnce(ctx, pod.name, pod.namespace, noted.uid, onStep);
      if (refused) return refused;
    }
    return `${pod.name} to be replaced`;
  }
  if (!p || !podReady(p) || !p.status?.podIP) return `${pod.name} to come back Ready`;
  const last = await probePod(ctx, p, port, e);
  if (!serves(last, e)) return `${pod.name} to serve the new TLS state (serves ${describe(last)})`;
  await mark.set(null);
  return { pod: pod.name, path: 'restart', ms: clock.now() - noted.since, attempts: 1, served: describe(last) };
}

/**
 * One pass of a rollout: pods already done are skipped, pods that take the
 * state at once are recorded (onPod), and at the first pod that needs time the
 * pass returns how long to wait, so the caller requeues instead of holding a
 * worker (a pod restart takes seconds; a reload waits on the secret volume).
 * The step's deadline bounds the whole, across passes.
 */
export async function rollPodsPass(
  ctx: RolloutContext,
  k: Kind,
  db: DbObject,
  e: Expect,
  done: ReadonlySet<string>,
  onPod: (r: PodResult) => Promise<void>,
  mark: RolloutMark,
  path: 'reload' | 'restart' = k.engine.tlsChange,
  onStep: OnRestartStep = async () => undefined,
): Promise<PassResult> {
  const port = k.ops.port(db);
  const wait = (waitingFor: string): PassResult => ({ done: false, waitMs: PASS_WAIT_MS, waitingFor });
  // A pod being restarted comes first: it may be missing from the list right now.
  const noted = parseRestarting(mark.get());
  if (noted && path === 'restart' && !done.has(noted.pod)) {
    const r = await restartPass(ctx, { name: noted.pod, namespace: db.metadata.namespace! }, e, port, mark, onStep);
    if (typeof r === 'string') return wait(r);
    await onPod(r);
  }
  const finished = new Set([...done, ...(noted && path === 'restart' ? [noted.pod] : [])]);
  for (const pod of await podsOf(ctx, k, db)) {
    const name = pod.metadata!.name!;
    if (finished.has(name)) continue;
    // A pod deleted or restarting under us is waited for (the step's deadline bounds it), not a failure.
    if (!pod.status?.podIP || !podReady(pod) || pod.metadata?.deletionTimestamp) return wait(`${name} to be Ready`);
    const r = path === 'reload' ? await reloadPass(ctx, k, pod, e, port) : await restartPass(ctx, { name, namespace: pod.metadata!.namespace!, uid: pod.metadata!.uid }, e, port, mark, onStep);
    if (typeof r === 'string') return wait(r);
    await onPod(r);
  }
  return { done: true };
}
