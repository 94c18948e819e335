// One ops-manager controller per ops-request kind, each over its kind's adapter.
import { Controller } from '../kube/controller.ts';
import { Informer } from '../kube/informer.ts';
import type { ControllerFactory, OperatorContext } from './manager.ts';
import type { OpsAdapter } from '../opsmanager/adapter.ts';
import { OpsReconciler } from '../opsmanager/reconciler.ts';
import type { OpsObject } from '../opsmanager/ops-status.ts';
import { postgresOps } from '../opsmanager/adapters/postgres.ts';

export function opsController(a: OpsAdapter): ControllerFactory {
  return (ctx: OperatorContext) => {
    const ops = new Informer<OpsObject>(ctx.kube, { apiVersion: 'ops.kubedb.com/v1alpha1', kind: a.info.opsKind, plural: a.info.opsPlural });
    return new Controller(`ops-${a.info.kind.toLowerCase()}`, new OpsReconciler(ctx, a), ctx.log, { workers: 2 }).watchFor(ops);
  };
}

export function opsControllers(): ControllerFactory[] {
  return [opsController(postgresOps)];
}
