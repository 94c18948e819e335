// A local-path style dynamic provisioner: PVCs of the `standard` StorageClass
// (the default class, as in the KubeDB guides) get a hostPath PV whose
// directory lives under the pgtls home, so data survives pod and agent
// restarts. The kube-controller-manager's PV controller does the binding; we
// only create PVs (and delete them with their data when released).
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { Rest, isCode } from './rest.ts';
import { Reflector } from './reflector.ts';

export const PROVISIONER_NAME = 'pgtls.dev/local-path';
export const STORAGE_CLASS = 'standard';
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const SELECTED = 'volume.kubernetes.io/storage-provisioner';

export function storageClass() {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: PROVISIONER_NAME,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
}

/** The PV for a claim (pure): a hostPath directory named after the claim's uid. */
export function volumeFor(pvc: V1PersistentVolumeClaim, root: string): V1PersistentVolume {
  const ns = pvc.metadata!.namespace!;
  const name = `pvc-${pvc.metadata!.uid}`;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { [PROVISIONED_BY]: PROVISIONER_NAME }, labels: { 'pgtls.dev/pvc-namespace': ns } },
    spec: {
      capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
      accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: pvc.spec?.storageClassName ?? STORAGE_CLASS,
      volumeMode: 'Filesystem',
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: pvc.metadata!.name!, uid: pvc.metadata!.uid! },
      hostPath: { path: join(root, `${name}_${ns}_${pvc.metadata!.name}`), type: 'DirectoryOrCreate' },
    },
  };
}

export class Provisioner {
  private pvcs?: Reflector<V1PersistentVolumeClaim>;
  private pvs?: Reflector<V1PersistentVolume>;
  private rest?: Rest;
  private readonly inFlight = new Set<string>();
  private resync?: NodeJS.Timeout;

  constructor(
    private readonly kubeconfig: string,
    private readonly root: string,
    private readonly log: (m: string) => void,
  ) {}

  async start(): Promise<void> {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    this.rest = await Rest.fromKubeconfig(this.kubeconfig);
    try {
      await this.rest.request('POST', '/apis/storage.k8s.io/v1/storageclasses', storageClass());
    } catch (err) {
      if (!isCode(err, 409)) throw err;
    }
    this.pvs = new Reflector<V1PersistentVolume>(this.rest, '/api/v1/persistentvolumes', '', this.log).on((t, pv) => void this.onPv(t, pv)).start();
    this.pvcs = new Reflector<V1PersistentVolumeClaim>(this.rest, '/api/v1/persistentvolumeclaims', '', this.log).on((t, pvc) => void this.onPvc(t, pvc)).start();
    await Promise.all([this.pvs.waitSynced(), this.pvcs.waitSynced()]);
    // A PVC whose provisioning failed (a slow or refused API call) gets no new
    // event: look at the unbound ones again every few seconds.
    this.resync = setInterval(() => {
      for (const pvc of this.pvcs?.list() ?? []) void this.onPvc('RESYNC', pvc);
    }, 5000);
    this.resync.unref();
  }

  stop(): void {
    if (this.resync) clearInterval(this.resync);
    this.pvcs?.stop();
    this.pvs?.stop();
    this.rest?.close();
  }

  private ours(pvc: V1PersistentVolumeClaim): boolean {
    const ann = pvc.metadata?.annotations ?? {};
    if (ann[SELECTED] === PROVISIONER_NAME || ann['volume.beta.kubernetes.io/storage-provisioner'] === PROVISIONER_NAME) return true;
    return pvc.spec?.storageClassName === STORAGE_CLASS;
  }

  private async onPvc(type: string, pvc: V1PersistentVolumeClaim): Promise<void> {
    if (type === 'DELETED' || pvc.spec?.volumeName || pvc.status?.phase === 'Bound' || !this.ours(pvc)) return;
    const pv = volumeFor(pvc, this.root);
    const name = pv.metadata!.name!;
    if (this.inFlight.has(name) || this.pvs?.get(undefined, name)) return;
    this.inFlight.add(name);
    try {
      mkdirSync(pv.spec!.hostPath!.path, { recursive: true, mode: 0o777 });
      // 0777 past the umask, as Rancher's local-path provisioner makes it: a real kubelet applies no
      // fsGroup to hostPath volumes, and the server's non-root user must create its data directory there.
      chmodSync(pv.spec!.hostPath!.path, 0o777);
      await this.rest!.request('POST', '/api/v1/persistentvolumes', pv);
      this.log(`provisioned ${name} for ${pvc.metadata!.namespace}/${pvc.metadata!.name} at ${pv.spec!.hostPath!.path}`);
    } catch (err) {
      if (!isCode(err, 409)) this.log(`provisioning ${name}: ${String(err).slice(0, 200)}`);
    } finally {
      this.inFlight.delete(name);
    }
  }

  private async onPv(type: string, pv: V1PersistentVolume): Promise<void> {
    if (type === 'DELETED' || pv.metadata?.annotations?.[PROVISIONED_BY] !== PROVISIONER_NAME) return;
    if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    const path = pv.spec?.hostPath?.path;
    // Only directories this provisioner made, under its root, are ever deleted.
    if (path && resolve(path).startsWith(resolve(this.root) + '/') && existsSync(path)) rmSync(path, { recursive: true, force: true });
    try {
      await this.rest!.request('DELETE', `/api/v1/persistentvolumes/${pv.metadata!.name}`);
      this.log(`deleted released volume ${pv.metadata!.name}`);
    } catch (err) {
      if (!isCode(err, 404)) this.log(`deleting ${pv.metadata!.name}: ${String(err).slice(0, 200)}`);
    }
  }
}

export function provisionerRbac(user: string) {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'pgtls:local-path-provisioner' },
      rules: [
        { apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'patch', 'update'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch', 'create'] },
        { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'pgtls:local-path-provisioner' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pgtls:local-path-provisioner' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  ];
}
