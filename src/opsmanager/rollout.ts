// Applies one TLS state to every server of a database and proves it from the
// wire: reload in place (PostgreSQL, PgBouncer) or restart pod by pod, each
// Ready before the next (Pgpool-II 4.3). The files reach the pods through
// secret volumes, which lag the Secret a little, so a reload is repeated
// until the server serves what is expected, within a deadline.
import { k8s } from '../kube/client.ts';
import { execInPod } from '../kube/exec.ts';
import { probeTls, type ProbeResult } from '../engines/shared/probe.ts';
import { describe } from '../engines/shared/probe.ts';
import { fingerprint256 } from '../certs/index.ts';
import { selectorLabels } from '../provisioner/kinds.ts';
import { listPods, podReady } from '../provisioner/objects.ts';
import type { ProvisionerContext } from '../provisioner/context.ts';
import type { DbObject } from '../provisioner/reconciler.ts';
import type { StagedTls } from '../provisioner/specs/tls-staging.ts';
import { governingServiceName } from '../provisioner/specs/services.ts';
import type { OpsAdapter } from './adapter.ts';
import { podDialAddress } from '../local/net/pod-address.ts';
import { metrics } from '../observability/metrics.ts';

export type Expect = { certPem: string; ca: string } | 'no-ssl';

export interface PodResult {
  pod: string;
  path: 'reload' | 'restart';
  ms: number;
  attempts: number;
  served: string;
}

export class RolloutError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function expectFor(staged: StagedTls | null): Expect {
  return staged ? { certPem: staged['server.crt'], ca: staged['ca.crt'] } : 'no-ssl';
}

function serves(r: ProbeResult, e: Expect): boolean {
  if (e === 'no-ssl') return r.kind === 'no-ssl';
  return r.kind === 'tls' && r.fingerprint256 === fingerprint256(e.certPem) && r.authorized === true;
}

/** Probes the pod's address, checking the certificate against its stable DNS name, as a client would. */
export async function probePod(kube: ProvisionerContext['kube'], pod: k8s.V1Pod, port: number, e: Expect): Promise<ProbeResult> {
  const db = pod.metadata?.labels?.['app.kubernetes.io/instance'] ?? '';
  const serverName = `${pod.metadata!.name}.${governingServiceName(db)}.${pod.metadata!.namespace}.svc`;
  const r = await probeTls({ ...podDialAddress(kube, pod.status!.podIP!, port), serverName }, { timeoutMs: 2000, ca: e === 'no-ssl' ? undefined : e.ca });
  metrics.served.observePod(pod, r);
  return r;
}

/** Writes the state (config and staged TLS) through the kind's provisioner. */
export async function applyState(ctx: ProvisionerContext, a: OpsAdapter, db: DbObject, staged: StagedTls | null): Promise<void> {
  await a.provisioner.apply(ctx, db, staged);
}

export async function podsOf(ctx: ProvisionerContext, a: OpsAdapter, db: DbObject): Promise<k8s.V1Pod[]> {
  const pods = await listPods(ctx.kube, db.metadata.namespace!, selectorLabels(a.info, db.metadata.name!));
  return a.order(pods);
}

/** Reload one pod until it serves `e`; bounded by the deadline. */
export async function reloadPod(ctx: ProvisionerContext, a: OpsAdapter, pod: k8s.V1Pod, e: Expect, deadline: number, port = a.port): Promise<PodResult> {
  const t0 = Date.now();
  let attempts = 0;
  let last: ProbeResult = { kind: 'error', error: 'not probed' };
  while (Date.now() < deadline && attempts < 600) {
    attempts++;
    const r = await execInPod(ctx.kube, { namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, container: a.container }, a.reloadCommand, 20_000);
    if (r.exitCode !== 0) throw new RolloutError(`reload in ${pod.metadata!.name} failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`);
    // The reload is asynchronous in the server: give it a few probes before reloading again.
    for (let i = 0; i < 10; i++) {
      last = await probePod(ctx.kube, pod, port, e);
      if (serves(last, e)) return { pod: pod.metadata!.name!, path: 'reload', ms: Date.now() - t0, attempts, served: describe(last) };
      await sleep(50);
    }
    if (attempts % 10 === 0) ctx.log.warn({ pod: pod.metadata!.name, attempts, served: describe(last) }, 'reloaded, but the expected TLS state is not served yet');
    await sleep(Math.min(1000, 100 * attempts));
  }
  throw new RolloutError(`${pod.metadata!.name} does not serve the new TLS state after ${attempts} reloads: ${describe(last)} (a rejected file keeps the old configuration)`);
}

/** Delete the pod; the StatefulSet recreates it with the current files; wait for Ready and the wire. */
export async function restartPod(ctx: ProvisionerContext, a: OpsAdapter, pod: k8s.V1Pod, e: Expect, deadline: number, port = a.port): Promise<PodResult> {
  const t0 = Date.now();
  const core = ctx.kube.api(k8s.CoreV1Api);
  const ns = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const oldUid = pod.metadata!.uid;
  await core.deleteNamespacedPod({ name, namespace: ns }).catch(() => undefined);
  let attempts = 0;
  let last: ProbeResult = { kind: 'error', error: 'not started' };
  while (Date.now() < deadline && attempts < 2000) {
    attempts++;
    const p = await core.readNamespacedPod({ name, namespace: ns }).catch(() => undefined);
    if (p && p.metadata?.uid !== oldUid && podReady(p) && p.status?.podIP) {
      last = await probePod(ctx.kube, p, port, e);
      if (serves(last, e)) return { pod: name, path: 'restart', ms: Date.now() - t0, attempts, served: describe(last) };
    }
    await sleep(250);
  }
  throw new RolloutError(`${name} did not come back serving the new TLS state: ${describe(last)}`);
}

/** Every pod, in the adapter's order, takes the state; `onPod` records progress per pod. */
export async function rollPods(
  ctx: ProvisionerContext,
  a: OpsAdapter,
  db: DbObject,
  e: Expect,
  deadline: number,
  path: 'reload' | 'restart',
  done: Set<string>,
  onPod: (r: PodResult) => Promise<void>,
): Promise<void> {
  const port = a.portOf?.(db) ?? a.port;
  for (const pod of await podsOf(ctx, a, db)) {
    if (done.has(pod.metadata!.name!)) continue;
    if (!pod.status?.podIP || !podReady(pod)) throw new RolloutError(`pod ${pod.metadata!.name} is not ready`);
    const r = path === 'reload' ? await reloadPod(ctx, a, pod, e, deadline, port) : await restartPod(ctx, a, pod, e, deadline, port);
    await onPod(r);
  }
}
