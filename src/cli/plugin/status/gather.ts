// Reads what `status` shows: the database, its pods, their certificates from
// the wire (pgwire SSLRequest, then the TLS handshake) and the alias Secrets.
import type { V1Pod } from '@kubernetes/client-node';
import { statusCode } from '../../../kube/client.ts';
import { k8s } from '../../../kube/client-node.ts';
import type { Condition } from '../../../kube/conditions.ts';
import { probeTls, type ProbeResult } from '../../../engines/shared/probe.ts';
import { apiError, type PluginContext } from '../context.ts';
import { PluginError } from '../errors.ts';
import { describeTarget, podSelector, type DbKind, type Target } from '../kinds.ts';
import { reach, resolveVia, type Via } from '../reach.ts';
import { aliasSecrets, buildStatus, type DbObject, type RawAlias, type RawPod, type StatusModel } from './model.ts';

export async function readDb(ctx: PluginContext, t: Target): Promise<DbObject> {
  let db: DbObject | undefined;
  try {
    db = await ctx.kube.get<DbObject & k8s.KubernetesObject>(t.kind.apiVersion, t.kind.kind, t.name, ctx.namespace);
  } catch (err) {
    throw apiError(err, describeTarget(t, ctx.namespace));
  }
  if (!db) throw new PluginError(`${describeTarget(t, ctx.namespace)} not found (kubectl get ${t.kind.names[0]} -n ${ctx.namespace})`);
  return db;
}

function podPort(kind: DbKind, db: DbObject, pod: V1Pod): number {
  const c = pod.spec?.containers?.find((x) => x.name === kind.container) ?? pod.spec?.containers?.[0];
  const p = c?.ports?.find((x) => (x.protocol ?? 'TCP') === 'TCP')?.containerPort;
  return p ?? db.spec?.connectionPool?.port ?? kind.defaultPort;
}

export function rawPod(kind: DbKind, db: DbObject, p: V1Pod): RawPod {
  const cs = p.status?.containerStatuses ?? [];
  return {
    name: p.metadata!.name!,
    labels: p.metadata?.labels ?? {},
    phase: p.status?.phase ?? 'Unknown',
    readyContainers: cs.filter((c) => c.ready).length,
    containers: p.spec?.containers?.length ?? cs.length,
    restarts: cs.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    deleting: !!p.metadata?.deletionTimestamp,
    port: podPort(kind, db, p),
  };
}

export async function listPods(ctx: PluginContext, t: Target, db: DbObject): Promise<RawPod[]> {
  try {
    const l = await ctx.kube.api(k8s.CoreV1Api).listNamespacedPod({ namespace: ctx.namespace, labelSelector: podSelector(t.kind, t.name) });
    return l.items.map((p) => rawPod(t.kind, db, p));
  } catch (err) {
    throw apiError(err, `pods of ${describeTarget(t, ctx.namespace)}`);
  }
}

async function readAlias(ctx: PluginContext, a: { alias: string; secretName: string }): Promise<RawAlias> {
  const out: RawAlias = { ...a };
  try {
    const s = await ctx.kube.api(k8s.CoreV1Api).readNamespacedSecret({ name: a.secretName, namespace: ctx.namespace });
    const dec = (k: string) => (s.data?.[k] ? Buffer.from(s.data[k]!, 'base64').toString('utf8') : undefined);
    out.secret = { 'tls.crt': dec('tls.crt'), 'ca.crt': dec('ca.crt') };
  } catch (err) {
    if (statusCode(err) !== 404) throw apiError(err, `Secret ${ctx.namespace}/${a.secretName} (alias ${a.alias})`);
  }
  try {
    const cert = await ctx.kube.get<k8s.KubernetesObject & { status?: { conditions?: Condition[] } }>('cert-manager.io/v1', 'Certificate', a.secretName, ctx.namespace);
    const ready = cert?.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready) out.certificateReady = { status: ready.status, ...(ready.message ? { message: ready.message } : {}) };
  } catch {
    // No cert-manager CRDs, or not allowed to read Certificates: the Secret says enough.
  }
  return out;
}

const PROBE_TIMEOUT_MS = 3000;

/** The certificate a pod serves, read from the wire through whatever reaches it. */
export async function probePod(ctx: PluginContext, pod: RawPod, via: Via): Promise<ProbeResult> {
  if (pod.phase !== 'Running') return { kind: 'error', error: `pod is ${pod.phase}` };
  let ep;
  try {
    ep = await reach(ctx, { namespace: ctx.namespace, pod: pod.name, port: pod.port }, via);
  } catch (err) {
    return { kind: 'error', error: err instanceof Error ? err.message : String(err) };
  }
  try {
    return await probeTls({ host: ep.host, port: ep.port }, { timeoutMs: PROBE_TIMEOUT_MS });
  } finally {
    await ep.close();
  }
}

export async function gatherStatus(ctx: PluginContext, t: Target, via: Via): Promise<StatusModel> {
  const db = await readDb(ctx, t);
  const [pods, aliases, how] = await Promise.all([
    listPods(ctx, t, db),
    Promise.all(aliasSecrets(db).map((a) => readAlias(ctx, a))),
    resolveVia(ctx, via),
  ]);
  const probes = await Promise.all(pods.map(async (p) => [p.name, await probePod(ctx, p, how)] as const));
  return buildStatus({ kind: t.kind, db, pods, served: Object.fromEntries(probes), aliases, via: how });
}
