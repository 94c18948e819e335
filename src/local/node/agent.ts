// The node agent: registers its Node, renews its Lease, runs the pods bound to
// it through PodRunner, serves Services on loopback and the kubelet API. It
// authenticates as system:node:<name>, so the API server's Node authorizer
// limits it to its own Node, Lease and pods, and to the Secrets, ConfigMaps
// and PVCs those pods reference.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodStatus, V1Secret, V1ConfigMap, V1Service } from '@kubernetes/client-node';
import { Rest, isCode } from './rest.ts';
import { Reflector } from './reflector.ts';
import { leaseObject, microTime, nodeObject, nodeStatus, type NodeFacts } from './node-object.ts';
import { PodRunner, type NodeContext } from './pod-runner.ts';
import { hostsFile, IpAllocator, podNetwork, selects, serviceNetwork, ServiceProxy, serviceVip, targetPort, type AddressPlan } from './network.ts';
import { VolumeError } from './volumes.ts';
import type { EnvSources } from './env.ts';
import { KubeletApi } from './kubelet-api.ts';

export interface AgentOptions {
  kubeconfig: string;
  nodeName: string;
  /** Per-node state: pod directories (volumes, logs, roots). */
  stateDir: string;
  kubeletPort: number;
  servingCert: string;
  servingKey: string;
  clientCa: string;
  plan: AddressPlan;
  kubernetesVersion: string;
  backoffBaseMs?: number;
  log?: (msg: string) => void;
}

const LEASE_SECONDS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class NodeAgent {
  readonly runners = new Map<string, PodRunner>(); // by uid
  private readonly byKey = new Map<string, string>(); // ns/name -> uid
  private pods!: Reflector<V1Pod>;
  private services!: Reflector<V1Service>;
  private readonly objectWatches = new Map<string, { refl: Reflector<V1Secret | V1ConfigMap>; users: Set<string> }>();
  private readonly pvcPaths = new Map<string, string>();
  private readonly pvcPending = new Set<string>();
  private readonly ips: IpAllocator;
  private readonly proxy: ServiceProxy;
  private kubelet?: KubeletApi;
  private timers: NodeJS.Timeout[] = [];
  private nodeUid = '';
  private changeTimer?: NodeJS.Timeout;
  private stopped = false;
  readonly log: (msg: string) => void;
  readonly podsDir: string;
  private rest!: Rest;

  constructor(readonly opts: AgentOptions) {
    this.log = opts.log ?? ((m) => process.stderr.write(`${new Date().toISOString()} ${m}\n`));
    this.ips = new IpAllocator(opts.plan.podOctet);
    this.proxy = new ServiceProxy(this.log);
    this.podsDir = join(opts.stateDir, 'pods');
  }

  facts(): NodeFacts {
    return {
      name: this.opts.nodeName,
      kubeletPort: this.opts.kubeletPort,
      kubernetesVersion: this.opts.kubernetesVersion,
      podNetwork: podNetwork(this.opts.plan),
      serviceNetwork: serviceNetwork(this.opts.plan),
      maxPods: 250,
    };
  }

  async start(): Promise<void> {
    mkdirSync(this.podsDir, { recursive: true, mode: 0o711 });
    this.rest = await Rest.fromKubeconfig(this.opts.kubeconfig);
    await this.register();
    await this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat().catch((e) => this.log(`heartbeat: ${String(e)}`)), 10_000));
    this.services = new Reflector<V1Service>(this.rest, '/api/v1/services', '', this.log).on(() => this.changed()).start();
    this.pods = new Reflector<V1Pod>(this.rest, '/api/v1/pods', `fieldSelector=${encodeURIComponent(`spec.nodeName=${this.opts.nodeName}`)}`, this.log);
    this.pods.on((type, pod) => this.onPod(type, pod));
    this.pods.start();
    await Promise.all([this.pods.waitSynced(), this.services.waitSynced()]);
    this.cleanOrphans();
    // Listening last: `pgtls up` takes a healthy kubelet API as "the node is up".
    this.kubelet = new KubeletApi(this, { port: this.opts.kubeletPort, cert: this.opts.servingCert, key: this.opts.servingKey, clientCa: this.opts.clientCa });
    await this.kubelet.listen();
    this.log(`node ${this.opts.nodeName} ready: kubelet API on 127.0.0.1:${this.opts.kubeletPort}, pods in ${podNetwork(this.opts.plan)}, services in ${serviceNetwork(this.opts.plan)}`);
  }

  private async register(): Promise<void> {
    const node = nodeObject(this.facts());
    for (let i = 0; ; i++) {
      try {
        const got = await this.rest.find<V1Node>(`/api/v1/nodes/${this.opts.nodeName}`);
        if (!got) {
          const created = await this.rest.request<V1Node>('POST', '/api/v1/nodes', node);
          this.nodeUid = created.metadata!.uid!;
        } else {
          const patched = await this.rest.mergePatch<V1Node>(`/api/v1/nodes/${this.opts.nodeName}`, { metadata: { labels: node.metadata!.labels, annotations: node.metadata!.annotations } });
          this.nodeUid = patched.metadata!.uid!;
        }
        await this.rest.strategicPatch(`/api/v1/nodes/${this.opts.nodeName}/status`, { status: nodeStatus(this.facts()) });
        return;
      } catch (err) {
        if (i >= 30) throw err;
        this.log(`registering node: ${String(err).slice(0, 200)}; retrying`);
        await sleep(1000);
      }
    }
  }

  private lastStatusAt = 0;
  private async heartbeat(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.opts.nodeName}`;
    const lease = await this.rest.find(path);
    if (!lease) await this.rest.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', leaseObject(this.opts.nodeName, this.nodeUid, LEASE_SECONDS));
    else await this.rest.mergePatch(path, { spec: { holderIdentity: this.opts.nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() } });
    if (Date.now() - this.lastStatusAt > 30_000) {
      await this.rest.strategicPatch(`/api/v1/nodes/${this.opts.nodeName}/status`, { status: nodeStatus(this.facts()) });
      this.lastStatusAt = Date.now();
    }
  }

  private onPod(type: string, pod: V1Pod): void {
    if (this.stopped) return;
    const uid = pod.metadata!.uid!;
    const key = `${pod.metadata!.namespace}/${pod.metadata!.name}`;
    let r = this.runners.get(uid);
    if (type === 'DELETED') {
      // Force-deleted (or finalized by us): make sure nothing keeps running.
      if (r && !r.done()) void r.stopAll(0).then(() => r!.update({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date() as never, deletionGracePeriodSeconds: 0 } }));
      return;
    }
    const phase = pod.status?.phase;
    if (!r) {
      if ((phase === 'Succeeded' || phase === 'Failed') && !existsSync(join(this.podsDir, uid))) return;
      r = new PodRunner(this.context(), pod);
      this.runners.set(uid, r);
      this.byKey.set(key, uid);
      r.adopt();
      this.watchObjects(r);
    }
    r.update(pod);
  }

  /** Pod directories whose pod no longer exists: stop leftovers, delete. */
  private cleanOrphans(): void {
    for (const uid of readdirSync(this.podsDir)) {
      if (this.runners.has(uid)) continue;
      const dir = join(this.podsDir, uid, 'containers');
      if (existsSync(dir)) {
        for (const f of readdirSync(dir)) {
          try {
            const { pid } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid: number };
            process.kill(-pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      rmSync(join(this.podsDir, uid), { recursive: true, force: true });
      this.log(`removed the directory of deleted pod ${uid}`);
    }
  }

  private objectKey(kind: 'secrets' | 'configmaps', ns: string, name: string) {
    return `${kind}/${ns}/${name}`;
  }

  /** One watch per referenced Secret/ConfigMap (by name: what the Node authorizer allows). */
  private watchObjects(r: PodRunner): void {
    const ns = r.pod.metadata!.namespace!;
    const refs = new Set<string>();
    const spec = r.pod.spec!;
    for (const v of spec.volumes ?? []) {
      if (v.secret?.secretName) refs.add(this.objectKey('secrets', ns, v.secret.secretName));
      if (v.configMap?.name) refs.add(this.objectKey('configmaps', ns, v.configMap.name));
      for (const s of v.projected?.sources ?? []) {
        if (s.secret?.name) refs.add(this.objectKey('secrets', ns, s.secret.name));
        if (s.configMap?.name) refs.add(this.objectKey('configmaps', ns, s.configMap.name));
      }
    }
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef?.name) refs.add(this.objectKey('secrets', ns, e.valueFrom.secretKeyRef.name));
        if (e.valueFrom?.configMapKeyRef?.name) refs.add(this.objectKey('configmaps', ns, e.valueFrom.configMapKeyRef.name));
      }
      for (const f of c.envFrom ?? []) {
        if (f.secretRef?.name) refs.add(this.objectKey('secrets', ns, f.secretRef.name));
        if (f.configMapRef?.name) refs.add(this.objectKey('configmaps', ns, f.configMapRef.name));
      }
    }
    for (const key of refs) {
      let w = this.objectWatches.get(key);
      if (!w) {
        const [kind, ons, name] = key.split('/') as [string, string, string];
        const refl = new Reflector<V1Secret | V1ConfigMap>(this.rest, `/api/v1/namespaces/${ons}/${kind}`, `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`, () => {});
        const entry = { refl, users: new Set<string>() };
        refl.on(() => {
          for (const uid of entry.users) {
            const pr = this.runners.get(uid);
            if (!pr || pr.done()) continue;
            try {
              if (pr.refreshVolumes()) this.log(`pod ${pr.key}: updated volumes from ${key}`);
            } catch {
              /* reported by the pod's next sync */
            }
            pr.kick();
          }
        });
        refl.start();
        w = entry;
        this.objectWatches.set(key, w);
      }
      w.users.add(r.uid);
    }
  }

  private releaseObjects(uid: string): void {
    for (const [key, w] of this.objectWatches) {
      w.users.delete(uid);
      if (w.users.size === 0) {
        w.refl.stop();
        this.objectWatches.delete(key);
      }
    }
  }

  private lookup(kind: 'secrets' | 'configmaps', ns: string, name: string): V1Secret | V1ConfigMap | undefined | 'unsynced' {
    const w = this.objectWatches.get(this.objectKey(kind, ns, name));
    if (!w) return undefined;
    const o = w.refl.get(ns, name);
    if (o) return o;
    return w.refl.isSynced() ? undefined : 'unsynced';
  }

  private decoded(kind: 'secrets' | 'configmaps', ns: string, name: string): Record<string, Buffer> | undefined {
    const o = this.lookup(kind, ns, name);
    if (o === 'unsynced') throw new VolumeError(`waiting for ${kind.slice(0, -1)} ${ns}/${name}`);
    if (!o) return undefined;
    const out: Record<string, Buffer> = {};
    if (kind === 'secrets') for (const [k, v] of Object.entries((o as V1Secret).data ?? {})) out[k] = Buffer.from(v, 'base64');
    else {
      for (const [k, v] of Object.entries((o as V1ConfigMap).data ?? {})) out[k] = Buffer.from(v, 'utf8');
      for (const [k, v] of Object.entries((o as V1ConfigMap).binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
    }
    return out;
  }

  private strings(kind: 'secrets' | 'configmaps', ns: string, name: string): Record<string, string> | undefined {
    const d = this.decoded(kind, ns, name);
    return d ? Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.toString('utf8')])) : undefined;
  }

  /** Pods with the addresses and readiness this node knows now. */
  livePods(): V1Pod[] {
    return [...this.runners.values()]
      .filter((r) => !r.done() && r.ip)
      .map((r) => ({ ...r.pod, status: { ...r.pod.status, podIP: r.ip, conditions: [{ type: 'Ready', status: r.isReady() ? 'True' : 'False' }] } }));
  }

  serviceEndpoints(svc: V1Service, port: { port: number; targetPort?: unknown; name?: string }): { host: string; port: number }[] {
    const out: { host: string; port: number }[] = [];
    for (const r of this.runners.values()) {
      if (r.done() || !r.ip || !r.isReady() || r.pod.metadata?.deletionTimestamp || !selects(svc, r.pod)) continue;
      const tp = targetPort(port as never, r.pod);
      if (tp !== undefined) out.push({ host: r.ip, port: tp });
    }
    return out;
  }

  /** Debounced: Service routes and every pod's /etc/hosts follow pods and Services. */
  changed(): void {
    if (this.changeTimer || this.stopped) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      const wanted = new Map<string, { host: string; port: number; endpoints: () => { host: string; port: number }[] }>();
      for (const svc of this.services?.list() ?? []) {
        const vip = serviceVip(svc.spec?.clusterIP, this.opts.plan.serviceOctet);
        if (!vip || !svc.spec?.selector) continue;
        for (const p of svc.spec.ports ?? []) {
          if ((p.protocol ?? 'TCP') !== 'TCP') continue;
          const key = `${svc.metadata!.namespace}/${svc.metadata!.name}:${p.port}@${vip}`;
          wanted.set(key, { host: vip, port: p.port, endpoints: () => this.serviceEndpoints(this.services.get(svc.metadata!.namespace, svc.metadata!.name!) ?? svc, p) });
        }
      }
      this.proxy.sync(wanted);
      for (const r of this.runners.values()) {
        try {
          r.refreshHosts();
        } catch (err) {
          this.log(`pod ${r.key}: hosts: ${String(err)}`);
        }
      }
    }, 100);
  }

  private pvcPath(ns: string, claim: string): string {
    const key = `${ns}/${claim}`;
    const p = this.pvcPaths.get(key);
    if (p) return p;
    if (!this.pvcPending.has(key)) {
      this.pvcPending.add(key);
      void (async () => {
        try {
          for (let i = 0; i < 600 && !this.stopped; i++) {
            const pvc = await this.rest.find<V1PersistentVolumeClaim>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim}`);
            const pvName = pvc?.spec?.volumeName;
            if (pvc?.status?.phase === 'Bound' && pvName) {
              const pv = await this.rest.get<V1PersistentVolume>(`/api/v1/persistentvolumes/${pvName}`);
              const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
              if (path) {
                this.pvcPaths.set(key, path);
                for (const r of this.runners.values()) r.kick();
                return;
              }
            }
            await sleep(1000);
          }
        } catch (err) {
          this.log(`pvc ${key}: ${String(err).slice(0, 200)}`);
        } finally {
          this.pvcPending.delete(key);
        }
      })();
    }
    throw new VolumeError(`persistentvolumeclaim "${claim}" is not bound yet`);
  }

  context(): NodeContext {
    return {
      nodeName: this.opts.nodeName,
      root: process.getuid?.() === 0,
      podsDir: this.podsDir,
      backoffBaseMs: this.opts.backoffBaseMs ?? 10_000,
      log: this.log,
      envSources: (pod, podIP): EnvSources => ({
        secret: (name) => this.strings('secrets', pod.metadata!.namespace!, name),
        configMap: (name) => this.strings('configmaps', pod.metadata!.namespace!, name),
        podIP,
        hostIP: '127.0.0.1',
        serviceHost: (svc) => serviceVip(svc.spec?.clusterIP, this.opts.plan.serviceOctet),
        services: this.services.list(),
      }),
      volumeSources: (pod, podIP) => ({
        secret: (name) => this.decoded('secrets', pod.metadata!.namespace!, name),
        configMap: (name) => this.decoded('configmaps', pod.metadata!.namespace!, name),
        field: (path) => {
          const md = pod.metadata ?? {};
          const m = /^metadata\.(labels|annotations)(?:\['(.+)'\])?$/.exec(path);
          if (m) {
            const map = (m[1] === 'labels' ? md.labels : md.annotations) ?? {};
            return m[2] ? (map[m[2]] ?? '') : Object.entries(map).map(([k, v]) => `${k}="${v}"`).join('\n');
          }
          if (path === 'metadata.name') return md.name ?? '';
          if (path === 'metadata.namespace') return md.namespace ?? '';
          if (path === 'metadata.uid') return md.uid ?? '';
          if (path === 'status.podIP') return podIP;
          if (path === 'spec.nodeName') return this.opts.nodeName;
          return '';
        },
      }),
      pvcPath: (ns, claim) => this.pvcPath(ns, claim),
      hostsFile: (pod, ip) => hostsFile(pod, ip, this.services.list(), this.livePods(), this.opts.plan.serviceOctet),
      allocateIp: (pod) => {
        const want = pod.status?.podIP;
        if (want && this.ips.claim(pod.metadata!.uid!, want)) return want;
        return this.ips.allocate(pod.metadata!.uid!);
      },
      releaseIp: (uid) => {
        this.ips.release(uid);
        this.releaseObjects(uid);
        const r = this.runners.get(uid);
        if (r) {
          this.runners.delete(uid);
          if (this.byKey.get(r.key) === uid) this.byKey.delete(r.key);
        }
      },
      patchStatus: async (pod, status: V1PodStatus) => {
        try {
          await this.rest.mergePatch(`/api/v1/namespaces/${pod.metadata!.namespace}/pods/${pod.metadata!.name}/status`, { metadata: { uid: pod.metadata!.uid }, status });
        } catch (err) {
          if (!isCode(err, 404) && !isCode(err, 409)) throw err;
        }
      },
      finalize: async (pod) => {
        try {
          await this.rest.request('DELETE', `/api/v1/namespaces/${pod.metadata!.namespace}/pods/${pod.metadata!.name}`, {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            gracePeriodSeconds: 0,
            preconditions: { uid: pod.metadata!.uid },
          });
        } catch (err) {
          if (!isCode(err, 404) && !isCode(err, 409)) throw err;
        }
      },
      changed: () => this.changed(),
    };
  }

  runnerFor(ns: string, name: string): PodRunner | undefined {
    const uid = this.byKey.get(`${ns}/${name}`);
    return uid ? this.runners.get(uid) : undefined;
  }

  /** Stops every pod's processes (SIGTERM, grace, SIGKILL), then the agent. Pods stay bound in the API. */
  async shutdown(maxGraceSeconds = 8): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.pods?.stop();
    this.services?.stop();
    for (const w of this.objectWatches.values()) w.refl.stop();
    await Promise.all(
      [...this.runners.values()].map((r) => r.stopAll(Math.min(r.pod.spec?.terminationGracePeriodSeconds ?? 30, maxGraceSeconds))),
    );
    this.proxy.close();
    await this.kubelet?.close();
    this.rest?.close();
  }

  /** Simulates a crash for tests: drop everything without touching processes. */
  abandon(): void {
    this.stopped = true;
  }
}
