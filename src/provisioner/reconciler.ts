// One reconciler for every database kind: the KubeDB lifecycle (finalizer and
// deletionPolicy, Paused, halted, conditions, phase) around a kind's own
// `apply` and `health`. Level-triggered: each pass reads the world, applies
// the whole desired state (server-side apply is idempotent), records status.
import type { k8s } from '../kube/client.ts';
import { isConflict, type KubeObject, type ObjectRef } from '../kube/api.ts';
import { stableJson } from '../kube/skip-unchanged-apply.ts';
import type { DbObject } from '../api/objects.ts';
import { isConditionTrue, newCondition, removeCondition, setCondition, type Condition, type NewCondition } from '../kube/conditions.ts';
import { errorText, type ObjectKey, type Reconciler, type Result } from '../kube/controller.ts';
import type { KindInfo } from '../kinds/info.ts';
import { selectorLabels } from '../kinds/info.ts';
import { WaitFor, type ProvisionerContext } from './context.ts';
import { listPods, ordinal, readSecret } from './objects.ts';
import { stagedTlsSecretName, type StagedTls } from './specs/tls-staging.ts';
import { configSecretName } from './specs/secrets.ts';
import { DB_CONDITIONS, phaseFromConditions } from './status.ts';

export const FINALIZER = 'kubedb.com';
/** A Ready database is looked at again (health, drift) after this long without an event. */
export const DEFAULT_RESYNC_MS = 30_000;

export type { DbObject };

export interface Health {
  replicasReady: boolean;
  readyReplicas: number;
  accepting: boolean;
  message?: string;
}

export interface KindProvisioner<DB extends DbObject = DbObject> {
  info: KindInfo;
  /**
   * Applies everything the database needs, as its spec says. Throws WaitFor to wait.
   * `staged` (the ops-manager's) replaces the TLS material staged from cert-manager's
   * secrets: null means serve no TLS files.
   */
  apply(ctx: ProvisionerContext, db: DB, staged?: StagedTls | null): Promise<void>;
  /** Validated TLS material from cert-manager's secrets (undefined when TLS is off). */
  stage?(ctx: ProvisionerContext, db: DB, extraCas?: string[]): Promise<StagedTls | undefined>;
  health(ctx: ProvisionerContext, db: DB, pods: k8s.V1Pod[]): Promise<Health>;
  /** The cert-manager Certificates the TLS spec asks for (none without an issuer). */
  certificates(db: DB): KubeObject[];
  /** Secrets named after the database that WipeOut removes besides its owned objects. */
  secretsOf(db: DB): string[];
}

export function dbRef(db: DbObject) {
  return { name: db.metadata.name!, namespace: db.metadata.namespace!, uid: db.metadata.uid! };
}

export interface ProvisionerHooks {
  /**
   * The files the servers read changed outside an ops request: cert-manager
   * renewed a certificate, or the configuration changed (a pooler's backend
   * turned TLS on or off). The servers must take them, or they keep the old
   * ones in memory. `staged` is the TLS material now staged (empty: no TLS).
   */
  filesChanged?(db: DbObject, staged: Record<string, string>): Promise<void>;
}

export class DatabaseReconciler<DB extends DbObject> implements Reconciler {
  constructor(
    private readonly ctx: ProvisionerContext,
    private readonly kind: KindProvisioner<DB>,
    private readonly hooks: ProvisionerHooks = {},
    private readonly opts: { resyncMs?: number } = {},
  ) {}

  private async stagedData(db: DB): Promise<Record<string, string> | undefined> {
    return readSecret(this.ctx.kube, db.metadata.namespace!, stagedTlsSecretName(db.metadata.name!));
  }

  private async configData(db: DB): Promise<Record<string, string> | undefined> {
    return readSecret(this.ctx.kube, db.metadata.namespace!, configSecretName(db.metadata.name!));
  }

  private get info(): KindInfo {
    return this.kind.info;
  }

  async reconcile(key: ObjectKey): Promise<Result | void> {
    const { kube } = this.ctx;
    const db = await kube.get<DB>(this.info.apiVersion, this.info.kind, key.name, key.namespace);
    if (!db) return;
    if (db.metadata.deletionTimestamp) return this.finalize(db);
    if (!db.metadata.finalizers?.includes(FINALIZER)) {
      await this.patchMeta(db, { finalizers: [...(db.metadata.finalizers ?? []), FINALIZER] });
      return { requeueAfterMs: 0 };
    }
    let conds = db.status?.conditions ?? [];
    const gen = db.metadata.generation;
    if (!isConditionTrue(conds, DB_CONDITIONS.ProvisioningStarted)) {
      conds = this.setCondition(conds, {
        ...newCondition('ProvisioningStarted', `The KubeDB operator has started the provisioning of ${this.info.kind}: ${key.namespace}/${key.name}`, gen),
        reason: 'DatabaseProvisioningStartedSuccessfully',
      });
      await this.ctx.events.record(this.ref(db), 'Normal', 'Provisioning', `started provisioning ${key.namespace}/${key.name}`);
    }
    // An ops request owns the database while Paused is True.
    if (isConditionTrue(conds, DB_CONDITIONS.Paused)) {
      await this.writeStatus(db, conds);
      return { requeueAfterMs: 30_000 };
    }
    if (db.spec.halted) return this.halt(db, conds);
    conds = removeCondition(conds, DB_CONDITIONS.Halted);
    const stagedBefore = await this.stagedData(db);
    const configBefore = await this.configData(db);
    try {
      await this.kind.apply(this.ctx, db);
    } catch (err) {
      if (err instanceof WaitFor) {
        await this.writeStatus(db, conds);
        this.ctx.log.info({ db: `${key.namespace}/${key.name}`, waitingFor: err.what }, 'waiting');
        return { requeueAfterMs: err.retryMs };
      }
      throw err;
    }
    const stagedAfter = (await this.stagedData(db)) ?? {};
    const configAfter = await this.configData(db);
    const renewed = !!stagedBefore?.['server.crt'] && !!stagedAfter['server.crt'] && JSON.stringify(stagedBefore) !== JSON.stringify(stagedAfter);
    const reconfigured = !!configBefore && JSON.stringify(configBefore) !== JSON.stringify(configAfter);
    if ((renewed || reconfigured) && this.hooks.filesChanged) {
      await this.ctx.events.record(this.ref(db), 'Normal', renewed ? 'CertificateRenewed' : 'ConfigurationChanged', 'the servers take the new files now');
      await this.hooks.filesChanged(db, stagedAfter);
    }
    const pods = await listPods(kube, key.namespace, selectorLabels(this.info, key.name));
    const h = await this.kind.health(this.ctx, db, pods);
    if (h.replicasReady && h.accepting) await this.rollOutdatedPod(db, pods);
    const replicas = db.spec.replicas ?? 1;
    const name = `${key.namespace}/${key.name}`;
    conds = this.setCondition(conds, h.replicasReady
      ? { type: 'ReplicaReady', status: 'True', reason: 'AllReplicasReady', message: 'All desired replicas are ready.', observedGeneration: gen }
      : { type: 'ReplicaReady', status: 'False', reason: 'SomeReplicasNotReady', message: `${h.readyReplicas} of ${replicas} replicas are ready`, observedGeneration: gen });
    conds = this.setCondition(conds, h.accepting
      ? { type: 'AcceptingConnection', status: 'True', reason: 'AcceptingConnection', message: `${this.info.kind} ${name} is accepting connection`, observedGeneration: gen }
      : { type: 'AcceptingConnection', status: 'False', reason: 'DatabaseNotAcceptingConnectionRequest', message: h.message ?? `${this.info.kind} ${name} is not accepting connection`, observedGeneration: gen });
    const ready = h.replicasReady && h.accepting;
    conds = this.setCondition(conds, ready
      ? { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: `${this.info.kind} ${name} is ready`, observedGeneration: gen }
      : { type: 'Ready', status: 'False', reason: 'ReadinessCheckFailed', message: h.message ?? `${this.info.kind} ${name} is not ready`, observedGeneration: gen });
    if (ready && !isConditionTrue(conds, DB_CONDITIONS.Provisioned)) {
      conds = this.setCondition(conds, {
        ...newCondition('Provisioned', `The ${this.info.kind}: ${name} is successfully provisioned.`, gen),
        reason: 'DatabaseSuccessfullyProvisioned',
      });
      await this.ctx.events.record(this.ref(db), 'Normal', 'Successful', `${this.info.kind} ${name} is ready`);
    }
    await this.writeStatus(db, conds);
    return { requeueAfterMs: ready ? (this.opts.resyncMs ?? DEFAULT_RESYNC_MS) : 2_000 };
  }

  /**
   * The StatefulSet uses OnDelete so that TLS changes never restart pods; a
   * template change (a new operator version) is rolled here instead: one
   * outdated pod at a time, standbys first, only while everything is healthy.
   */
  private async rollOutdatedPod(db: DB, pods: k8s.V1Pod[]): Promise<void> {
    const sts = await this.ctx.kube.get<k8s.V1StatefulSet>('apps/v1', 'StatefulSet', db.metadata.name!, db.metadata.namespace);
    const want = sts?.status?.updateRevision;
    if (!want) return;
    const outdated = pods.filter((p) => p.metadata?.labels?.['controller-revision-hash'] !== want).sort((a, b) => ordinal(b) - ordinal(a));
    const victim = outdated[0];
    if (!victim) return;
    await this.ctx.events.record(this.ref(db), 'Normal', 'RollingUpdate', `restarting ${victim.metadata!.name} to apply the new pod template`);
    await this.ctx.kube.delete({ apiVersion: 'v1', kind: 'Pod', name: victim.metadata!.name!, namespace: victim.metadata!.namespace });
  }

  /** Conditions stamped with the injected clock's time. */
  private setCondition(conds: Condition[], c: NewCondition): Condition[] {
    return setCondition(conds, c, new Date(this.ctx.clock.now()));
  }

  private ref(db: DB) {
    return { apiVersion: this.info.apiVersion, kind: this.info.kind, metadata: db.metadata };
  }

  private objectRef(db: DB): ObjectRef {
    return { apiVersion: this.info.apiVersion, kind: this.info.kind, name: db.metadata.name!, namespace: db.metadata.namespace };
  }

  private async patchMeta(db: DB, metadata: Partial<k8s.V1ObjectMeta>): Promise<void> {
    await this.ctx.kube.patch(this.objectRef(db), { metadata });
  }

  /** Status through the status subresource, guarded by resourceVersion so an ops-manager's Paused is never lost. */
  private async writeStatus(db: DB, conds: Condition[]): Promise<void> {
    const status = { ...(db.status ?? {}), conditions: conds, phase: phaseFromConditions(conds), observedGeneration: db.metadata.generation };
    // Key order aside (the API server returns object keys sorted): an unchanged status is not written.
    if (stableJson(status) === stableJson(db.status ?? {})) return;
    try {
      await this.ctx.kube.patchStatus(this.objectRef(db), status, { resourceVersion: db.metadata.resourceVersion });
    } catch (err) {
      if (isConflict(err)) throw new Error(`status of ${this.info.kind} ${db.metadata.namespace}/${db.metadata.name} changed underneath; retrying`, { cause: err });
      throw err;
    }
  }

  private async halt(db: DB, conds: Condition[]): Promise<Result> {
    await this.deleteWorkload(db);
    conds = this.setCondition(conds, { ...newCondition('Halted', `${this.info.kind} ${db.metadata.name} is halted`), reason: 'DatabaseHaltedSuccessfully' });
    await this.writeStatus(db, conds);
    return { requeueAfterMs: 30_000 };
  }

  private async deleteWorkload(db: DB): Promise<void> {
    const ns = db.metadata.namespace!;
    const { kube } = this.ctx;
    await kube.delete({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: db.metadata.name!, namespace: ns }, { propagationPolicy: 'Background' });
    const svcs = await kube.list<k8s.V1Service>('v1', 'Service', { namespace: ns, labelSelector: selectorLabels(this.info, db.metadata.name!) });
    for (const s of svcs) await kube.delete({ apiVersion: 'v1', kind: 'Service', name: s.metadata!.name!, namespace: ns });
  }

  /** deletionPolicy: Halt keeps PVCs and secrets, Delete keeps secrets, WipeOut removes everything. */
  private async finalize(db: DB): Promise<Result | void> {
    if (!db.metadata.finalizers?.includes(FINALIZER)) return;
    const policy = db.spec.deletionPolicy ?? 'Delete';
    if (policy === 'DoNotTerminate') {
      this.ctx.log.warn({ db: db.metadata.name }, 'deletionPolicy DoNotTerminate: keeping the database; change the policy to delete it');
      return;
    }
    const ns = db.metadata.namespace!;
    const { kube } = this.ctx;
    await this.deleteWorkload(db);
    if (policy === 'Delete' || policy === 'WipeOut') {
      const pvcs = await kube.list<k8s.V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', { namespace: ns, labelSelector: selectorLabels(this.info, db.metadata.name!) });
      for (const p of pvcs) await kube.delete({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: p.metadata!.name!, namespace: ns });
    }
    if (policy === 'WipeOut') {
      for (const s of this.kind.secretsOf(db)) await kube.delete({ apiVersion: 'v1', kind: 'Secret', name: s, namespace: ns });
    }
    await this.patchMeta(db, { finalizers: (db.metadata.finalizers ?? []).filter((f) => f !== FINALIZER) });
    this.ctx.log.info({ db: `${ns}/${db.metadata.name}`, policy }, 'deleted');
  }
}

export { errorText };
