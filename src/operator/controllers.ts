// The controllers the operator runs: one provisioner per database kind (and,
// with the ops-manager, one per ops-request kind). Adding a kind adds a line.
import { Controller } from '../kube/controller.ts';
import { Informer } from '../kube/informer.ts';
import type { k8s } from '../kube/client.ts';
import type { ControllerFactory, OperatorContext } from './manager.ts';
import { DatabaseReconciler, type DbObject, type KindProvisioner } from '../provisioner/reconciler.ts';
import { postgresProvisioner } from '../provisioner/postgres/provisioner.ts';
import { opsControllers, renewalHooks } from './ops-controllers.ts';
import { findOpsAdapter } from '../opsmanager/adapter.ts';
import { pgbouncerProvisioner } from '../provisioner/pgbouncer/provisioner.ts';
import { pgpoolProvisioner } from '../provisioner/pgpool/provisioner.ts';

/** Watches the database kind, what it owns, and the cert-manager secrets it reads. */
export function provisionerController(kind: KindProvisioner<DbObject>): ControllerFactory {
  return (ctx: OperatorContext) => {
    const { info } = kind;
    const dbs = new Informer<DbObject>(ctx.kube, { apiVersion: info.apiVersion, kind: info.kind, plural: info.plural });
    const selector = `app.kubernetes.io/name=${info.resourceName}`;
    const sts = new Informer<k8s.V1StatefulSet>(ctx.kube, { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets', labelSelector: selector });
    const pods = new Informer<k8s.V1Pod>(ctx.kube, { apiVersion: 'v1', kind: 'Pod', plural: 'pods', labelSelector: selector });
    const secrets = new Informer<k8s.V1Secret>(ctx.kube, { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', labelSelector: selector });
    const byInstance = (o: k8s.KubernetesObject) => {
      const name = o.metadata?.labels?.['app.kubernetes.io/instance'];
      return name ? [{ namespace: o.metadata?.namespace ?? '', name }] : [];
    };
    // Renewed certificates reach the servers the way an ops request's do.
    const adapter = findOpsAdapter(info.kind);
    const hooks = adapter ? renewalHooks(adapter, ctx) : {};
    return new Controller(`provisioner-${info.kind.toLowerCase()}`, new DatabaseReconciler(ctx, kind, hooks), ctx.log)
      .watchFor(dbs)
      .watchOwned(sts, info.kind)
      .watchMapped(pods, byInstance)
      .watchMapped(secrets, byInstance);
  };
}

export function defaultControllers(): ControllerFactory[] {
  return [
    ...opsControllers(),
    provisionerController(postgresProvisioner as unknown as KindProvisioner<DbObject>),
    provisionerController(pgbouncerProvisioner as unknown as KindProvisioner<DbObject>),
    provisionerController(pgpoolProvisioner as unknown as KindProvisioner<DbObject>),
  ];
}
