// The controllers the operator runs, for every kind in the kinds list: a
// provisioner per database kind and an ops-manager per ops-request kind.
import { Controller } from '../kube/controller.ts';
import { Informer, type ResourceRef } from '../kube/informer.ts';
import type { k8s } from '../kube/client.ts';
import type { KubeObject } from '../kube/api.ts';
import type { DbObject, OpsObject } from '../api/objects.ts';
import { KINDS, type Kind } from '../kinds/index.ts';
import { OpsReconciler } from '../opsmanager/reconciler.ts';
import { expectFor, rollPods } from '../opsmanager/rollout.ts';
import { releaseOrphanPause } from '../opsmanager/orphan-pause.ts';
import { DatabaseReconciler, type ProvisionerHooks } from '../provisioner/reconciler.ts';
import { asStagedTls } from '../provisioner/specs/tls-staging.ts';
import { tuningOf, type ControllerFactory, type OperatorContext } from './manager.ts';
import { metrics } from '../observability/metrics.ts';

/**
 * Watches the database kind, what it owns, and its cert-manager Certificates
 * (a renewal updates the Certificate's status right after its Secret). Not
 * Secrets: the operator may read a Secret by name, never list or watch them.
 */
/** Objects the operator made for databases of this kind carry this label. */
const kindSelector = (kind: Kind) => `app.kubernetes.io/name=${kind.info.resourceName}`;

/** The term's shared informer for ref (a private one where the context has none: tests). */
function informer<T extends KubeObject>(ctx: OperatorContext, ref: ResourceRef): Informer<T> {
  return ctx.informers ? ctx.informers.get<T>(ref) : new Informer<T>(ctx.kube, ref);
}

/** The database an object belongs to, by its instance label. */
function byInstance(o: KubeObject): { namespace: string; name: string }[] {
  const name = o.metadata?.labels?.['app.kubernetes.io/instance'];
  return name ? [{ namespace: o.metadata?.namespace ?? '', name }] : [];
}

export function provisionerController(kind: Kind): ControllerFactory {
  return (ctx: OperatorContext) => {
    const { info } = kind;
    const dbs = informer<DbObject>(ctx, { apiVersion: info.apiVersion, kind: info.kind, plural: info.plural });
    const selector = kindSelector(kind);
    const sts = informer<k8s.V1StatefulSet>(ctx, { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets', labelSelector: selector });
    const pods = informer<k8s.V1Pod>(ctx, { apiVersion: 'v1', kind: 'Pod', plural: 'pods', labelSelector: selector });
    const certs = informer<KubeObject>(ctx, { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', plural: 'certificates', labelSelector: selector });
    // Read by the orphan-pause check only (renewalHooks); its events reconcile nothing here.
    const ops = informer<OpsObject>(ctx, { apiVersion: 'ops.kubedb.com/v1alpha1', kind: info.opsKind, plural: info.opsPlural });
    const tuning = tuningOf(ctx);
    const reconciler = new DatabaseReconciler(ctx, kind.provisioner, renewalHooks(kind, ctx, (ns) => (ops.hasSynced ? ops.list(ns) : [])), { resyncMs: tuning.resyncMs });
    return new Controller(`provisioner-${info.kind.toLowerCase()}`, reconciler, ctx.log, { workers: tuning.workers })
      .watchFor(dbs)
      .watchOwned(sts, info.kind)
      .watchMapped(pods, byInstance)
      .watchMapped(certs, byInstance)
      .watchMapped(ops, () => []);
  };
}

/**
 * Steps a request may take in one worker's turn before it goes back to the
 * queue: at 100 requests at once, each step otherwise waited for a full turn
 * of the queue (~50 s apart at N = 100 with 4 workers).
 */
export const OPS_FOLLOW_THROUGH = 8;

/** The Progressing requests of the database a Certificate belongs to (its instance label). Pure. */
export function requestsInProgressFor(ops: readonly OpsObject[], cert: KubeObject): { namespace: string; name: string }[] {
  const [db] = byInstance(cert);
  if (!db?.namespace) return [];
  return ops.filter((o) => o.metadata.namespace === db.namespace && o.spec.databaseRef?.name === db.name && o.status?.phase === 'Progressing').map((o) => ({ namespace: db.namespace, name: o.metadata.name! }));
}

export function opsController(kind: Kind): ControllerFactory {
  return (ctx: OperatorContext) => {
    const ops = informer<OpsObject>(ctx, { apiVersion: 'ops.kubedb.com/v1alpha1', kind: kind.info.opsKind, plural: kind.info.opsPlural });
    metrics.trackOpsRequests(kind.info.opsKind, () => ops.list());
    // A request waiting on cert-manager moves when its Certificates change, not by polling alone.
    const certs = informer<KubeObject>(ctx, { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', plural: 'certificates', labelSelector: kindSelector(kind) });
    return new Controller(`ops-${kind.info.kind.toLowerCase()}`, new OpsReconciler(ctx, kind), ctx.log, { workers: tuningOf(ctx).opsWorkers, followThrough: OPS_FOLLOW_THROUGH })
      // Only the ops-manager writes a request's status, and each step asks for its own next pass.
      .watchFor(ops, { ignoreStatusOnly: true })
      .watchMapped(certs, (c) => requestsInProgressFor(ops.list(c.metadata?.namespace), c));
  };
}

/**
 * What the provisioner does when the servers' files change outside an ops
 * request (a renewal by cert-manager, a backend's TLS change for a pooler):
 * the same rollout as an ops request's (reload, or restart for Pgpool), each
 * pod proven from the wire.
 */
export function renewalHooks(kind: Kind, ctx: OperatorContext, cachedOps?: (namespace: string) => readonly OpsObject[]): ProvisionerHooks {
  return {
    async filesChanged(db, staged) {
      await rollPods(ctx, kind, db, expectFor(asStagedTls(staged)), ctx.clock.now() + 120_000, new Set(), async (r) => {
        ctx.log.info({ db: `${db.metadata.namespace}/${db.metadata.name}`, pod: r.pod, path: r.path, ms: r.ms }, 'new files taken');
      });
    },
    releaseOrphanPause: (db) => releaseOrphanPause(ctx, kind.info, db.metadata.namespace!, db.metadata.name!, cachedOps),
  };
}

export function defaultControllers(): ControllerFactory[] {
  return [...KINDS.map(opsController), ...KINDS.map(provisionerController)];
}
