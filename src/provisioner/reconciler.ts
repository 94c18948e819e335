// One reconciler for every database kind: the KubeDB lifecycle (finalizer and
// deletionPolicy, Paused, halted, conditions, phase) around a kind's own
// `apply` and `health`. Level-triggered: each pass reads the world, applies
// the whole desired state (server-side apply is idempotent), records status.
import { CertificatePolicyError } from '../certs/policy.ts';
import type { k8s } from '../kube/client.ts';
import { isConflict, type KubeObject, type ObjectRef } from '../kube/api.ts';
import { stableJson } from '../kube/skip-unchanged-apply.ts';
import type { DbObject } from '../api/objects.ts';
import { isConditionTrue, newCondition, removeCondition, setCondition, type Condition, type NewCondition } from '../kube/conditions.ts';
import { errorText, type ObjectKey, type Reconciler, type Result } from '../kube/controller.ts';
import type { KindInfo } from '../kinds/info.ts';
import { selectorLabels } from '../kinds/info.ts';
import { ReferenceRefused, WaitFor, type ProvisionerContext } from './context.ts';
import { belongsTo, ordinal, ownedPods, readSecret } from './objects.ts';
import { ROLE_LABEL } from './specs/services.ts';
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
  /**
   * The database is Paused: clears the pause when no ops request holds it any
   * more (true when it did), so a database is never left paused forever.
   */
  releaseOrphanPause?(db: DbObject): Promise<boolean>;
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
      if (await this.hooks.releaseOrphanPause?.(db)) return { requeueAfterMs: 0 };
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
      if (err instanceof ReferenceRefused) await this.refuseReference(db, err);
      if (err instanceof WaitFor) {
        await this.writeStatus(db, conds);
        this.ctx.log.info({ db: `${key.namespace}/${key.name}`, waitingFor: err.what }, 'waiting');
        if (err.warning) await this.ctx.events.record(this.ref(db), 'Warning', err.warning, err.what);
        return { requeueAfterMs: err.retryMs };
      }
      if (err instanceof CertificatePolicyError) {
        // Not retried fast: only a spec change or the operator's flags can fix it.
        await this.writeStatus(db, conds);
        await this.ctx.events.record(this.ref(db), 'Warning', 'CertificateRefused', err.message);
        return { requeueAfterMs: 60_000 };
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
    const { owned: pods, foreign } = await ownedPods(kube, key.namespace, key.name, selectorLabels(this.info, key.name));
    await this.disownForeignPods(db, foreign);
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
   * A pod with the database's labels that its StatefulSet does not control
   * is not a member: its role label goes (so no Service sends it clients as
   * the primary), and it is reported, never exec'd into.
   */
  private async disownForeignPods(db: DB, foreign: k8s.V1Pod[]): Promise<void> {
    for (const p of foreign) {
      if (p.metadata?.labels?.[ROLE_LABEL] === undefined) continue;
      await this.ctx.kube.patch({ apiVersion: 'v1', kind: 'Pod', name: p.metadata.name!, namespace: p.metadata.namespace }, { metadata: { labels: { [ROLE_LABEL]: null } } });
      await this.ctx.events.record(this.ref(db), 'Warning', 'ForeignPod', `pod ${p.metadata.name} has the labels of ${this.info.kind} ${db.metadata.namespace}/${db.metadata.name} but its StatefulSet does not control it; its ${ROLE_LABEL} label was removed`);
    }
  }

  /** What was copied from a backend that no longer accepts this database goes (the config holds its passwords). */
  private async refuseReference(db: DB, err: ReferenceRefused): Promise<void> {
    const ns = db.metadata.namespace!;
    const removed = await this.ctx.kube.delete({ apiVersion: 'v1', kind: 'Secret', name: configSecretName(db.metadata.name!), namespace: ns });
    await this.ctx.events.record(this.ref(db), 'Warning', 'ReferenceRefused', removed ? `${err.reason}; the credentials copied from it were removed` : err.reason);
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
    // By uid: the pod listed may have been replaced since (deleted by a user, recreated by its StatefulSet); the new one is up to date.
    await this.ctx.kube.delete({ apiVersion: 'v1', kind: 'Pod', name: victim.metadata!.name!, namespace: victim.metadata!.namespace }, { uid: victim.metadata!.uid });
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
      for (const name of this.kind.secretsOf(db)) {
        const secret = await kube.get<KubeObject>('v1', 'Secret', name, ns);
        if (!secret) continue;
        // Only what provably belongs to this database: never a user-named Secret it did not create.
        if (!belongsTo(secret, this.info, db)) {
          await this.ctx.events.record(this.ref(db), 'Normal', 'SecretKept', `WipeOut keeps Secret ${ns}/${name}: it was not created for ${this.info.kind} ${ns}/${db.metadata.name}`);
          continue;
        }
        await kube.delete({ apiVersion: 'v1', kind: 'Secret', name, namespace: ns });
      }
    }
    await this.patchMeta(db, { finalizers: (db.metadata.finalizers ?? []).filter((f) => f !== FINALIZER) });
    this.ctx.log.info({ db: `${ns}/${db.metadata.name}`, policy }, 'deleted');
  }
}

export { errorText };
