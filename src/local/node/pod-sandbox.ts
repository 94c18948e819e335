// What a pod has before any of its containers runs, as a CRI runtime's pod
// sandbox: its directory, its network (address, namespace), its /etc/hosts,
// resolv.conf and hostname, and its volumes as host directories.
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { resolvConf } from './network.ts';
import type { PodNetwork } from './pod-network.ts';
import { isProjectedKind, payloadFor, volumeDir, VolumeError, writeAtomic, type VolumeSources } from './volumes.ts';
import { applyFsGroup, giveRootToUser, projectedOwnership } from './ownership.ts';
import type { Mount } from './launch.ts';

export interface SandboxContext {
  /** Kubelet volume ownership (see ownership.ts); false: files are given to the pod's user. */
  strict: boolean;
  /** chown/chmod need root. */
  canChown: boolean;
  network: PodNetwork;
  volumeSources(pod: V1Pod, podIP: string): VolumeSources;
  /** Host directory of a bound PVC; throws VolumeError while it is not bound. */
  pvcPath(namespace: string, claim: string): string;
  hostsFile(pod: V1Pod, podIP: string): string;
}

export class PodSandbox {
  ip?: string;
  /** Writable volumes whose ownership was set up for this pod (once per pod, as the kubelet mounts once). */
  private readonly prepared = new Set<string>();

  constructor(
    private readonly ctx: SandboxContext,
    readonly dir: string,
    readonly uid: string,
  ) {}

  /** Sets the pod's network up once; the address survives agent restarts in the pod directory. */
  async network(pod: V1Pod): Promise<string> {
    if (this.ip) return this.ip;
    mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    const file = join(this.dir, 'ip');
    const previous = existsSync(file) ? readFileSync(file, 'utf8').trim() : pod.status?.podIP;
    const ip = await this.ctx.network.setUp(this.uid, previous);
    writeFileSync(file, ip);
    this.ip = ip;
    return ip;
  }

  netnsPath(): string | undefined {
    return this.ctx.network.netnsPath(this.uid);
  }

  netFile(name: 'hosts' | 'resolv.conf' | 'hostname'): string {
    return join(this.dir, 'net', name);
  }

  writeNetFiles(pod: V1Pod): void {
    if (!this.ip) return;
    mkdirSync(join(this.dir, 'net'), { recursive: true });
    const hosts = this.ctx.hostsFile(pod, this.ip);
    const hostsPath = this.netFile('hosts');
    // In place, not by rename: running containers have this inode bind-mounted.
    if (!existsSync(hostsPath) || readFileSync(hostsPath, 'utf8') !== hosts) writeFileSync(hostsPath, hosts, { mode: 0o644 });
    if (!existsSync(this.netFile('resolv.conf'))) writeFileSync(this.netFile('resolv.conf'), resolvConf(pod.metadata!.namespace!), { mode: 0o644 });
    if (!existsSync(this.netFile('hostname'))) writeFileSync(this.netFile('hostname'), `${podHostname(pod)}\n`, { mode: 0o644 });
  }

  /**
   * Writes Secret/ConfigMap/projected/downwardAPI volumes (atomically, only
   * what changed) and prepares emptyDir and PVC directories. `projected`
   * false skips the projected kinds (their refresh is paced separately).
   * Returns true when a projected volume's files changed.
   */
  writeVolumes(pod: V1Pod, user: { uid: number; gid: number } | undefined, projected = true): boolean {
    const ip = this.ip ?? '';
    const src = this.ctx.volumeSources(pod, ip);
    const own = projectedOwnership(this.ctx.strict, pod, user, this.ctx.canChown);
    const sc = pod.spec?.securityContext;
    let changed = false;
    for (const v of pod.spec?.volumes ?? []) {
      const dir = volumeDir(this.dir, v);
      if (isProjectedKind(v)) {
        if (projected && writeAtomic(dir, payloadFor(pod, v, src), own)) changed = true;
        continue;
      }
      let root: string;
      if (v.emptyDir) root = dir;
      else if (v.persistentVolumeClaim) root = this.ctx.pvcPath(pod.metadata!.namespace!, v.persistentVolumeClaim.claimName);
      else if (v.hostPath) continue;
      else throw new VolumeError(`volume ${v.name}: this node supports secret, configMap, projected, downwardAPI, emptyDir, persistentVolumeClaim and hostPath volumes`);
      if (this.prepared.has(v.name)) continue;
      // A fresh emptyDir is 0777 (as the kubelet makes it); a fresh PVC root is a new filesystem's 0755 root.
      if (!existsSync(root)) {
        mkdirSync(root, { recursive: true, mode: 0o755 });
        if (v.emptyDir && this.ctx.strict) chmodSync(root, 0o777); // past the umask, as the kubelet does
      }
      if (this.ctx.canChown) {
        if (this.ctx.strict) {
          if (sc?.fsGroup !== undefined) applyFsGroup(root, sc.fsGroup, sc.fsGroupChangePolicy);
        } else if (user) giveRootToUser(root, user, sc?.fsGroup);
      }
      this.prepared.add(v.name);
    }
    return changed;
  }

  /** The bind mounts of a container's volumeMounts. */
  mountsFor(pod: V1Pod, c: V1Container): Mount[] {
    const out: Mount[] = [];
    for (const vm of c.volumeMounts ?? []) {
      const v = (pod.spec?.volumes ?? []).find((x) => x.name === vm.name);
      if (!v) throw new VolumeError(`volumeMount ${vm.name}: no such volume`);
      let source = v.persistentVolumeClaim
        ? this.ctx.pvcPath(pod.metadata!.namespace!, v.persistentVolumeClaim.claimName)
        : v.hostPath
          ? v.hostPath.path
          : volumeDir(this.dir, v);
      const sub = vm.subPath ?? (vm.subPathExpr ? vm.subPathExpr : undefined);
      let file = false;
      if (sub) {
        source = join(source, sub);
        if (!existsSync(source)) mkdirSync(source, { recursive: true });
        source = realpathSync(source);
        file = !statSync(source).isDirectory();
      }
      if (v.hostPath && !existsSync(source)) mkdirSync(source, { recursive: true });
      out.push({ source, target: vm.mountPath, readOnly: vm.readOnly || isProjectedKind(v), file });
    }
    return out;
  }

  /** The container's own directory for its root and overlay layers, emptied (a restarted container gets a fresh writable layer). */
  freshContainerDir(name: string): string {
    const base = join(this.dir, 'rootfs', name);
    rmSync(base, { recursive: true, force: true });
    for (const d of ['root', 'upper', 'work']) mkdirSync(join(base, d), { recursive: true, mode: 0o755 });
    return base;
  }

  async remove(): Promise<void> {
    await this.ctx.network.tearDown(this.uid);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function podHostname(pod: V1Pod): string {
  return pod.spec?.hostname ?? pod.metadata!.name!;
}
