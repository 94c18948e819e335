// One ops-manager controller per ops-request kind, each over its kind's adapter.
import { Controller } from '../kube/controller.ts';
import { Informer } from '../kube/informer.ts';
import type { ControllerFactory, OperatorContext } from './manager.ts';
import type { OpsAdapter } from '../opsmanager/adapter.ts';
import { OpsReconciler } from '../opsmanager/reconciler.ts';
import type { OpsObject } from '../opsmanager/ops-status.ts';
import { postgresOps } from '../opsmanager/adapters/postgres.ts';
import { pgbouncerOps } from '../opsmanager/adapters/pgbouncer.ts';
import { pgpoolOps } from '../opsmanager/adapters/pgpool.ts';
import { expectFor, rollPods } from '../opsmanager/rollout.ts';
import type { ProvisionerHooks } from '../provisioner/reconciler.ts';
import type { StagedTls } from '../provisioner/specs/tls-staging.ts';
import { metrics } from '../observability/metrics.ts';

export function opsController(a: OpsAdapter): ControllerFactory {
  return (ctx: OperatorContext) => {
    const ops = new Informer<OpsObject>(ctx.kube, { apiVersion: 'ops.kubedb.com/v1alpha1', kind: a.info.opsKind, plural: a.info.opsPlural });
    metrics.trackOpsRequests(a.info.opsKind, () => ops.list());
    return new Controller(`ops-${a.info.kind.toLowerCase()}`, new OpsReconciler(ctx, a), ctx.log, { workers: 2 }).watchFor(ops);
  };
}

/**
 * What the provisioner does when the servers' files change outside an ops
 * request (a renewal by cert-manager, a backend's TLS change for a pooler):
 * the same rollout as an ops request's (reload, or restart for Pgpool), each
 * pod proven from the wire.
 */
export function renewalHooks(a: OpsAdapter, ctx: OperatorContext): ProvisionerHooks {
  return {
    async filesChanged(db, staged) {
      const e = expectFor(staged['server.crt'] ? (staged as unknown as StagedTls) : null);
      await rollPods(ctx, a, db, e, Date.now() + 120_000, a.path, new Set(), async (r) => {
        ctx.log.info({ db: `${db.metadata.namespace}/${db.metadata.name}`, pod: r.pod, path: r.path, ms: r.ms }, 'new files taken');
      });
    },
  };
}

export function opsControllers(): ControllerFactory[] {
  return [opsController(postgresOps), opsController(pgbouncerOps), opsController(pgpoolOps)];
}
