// The node agent: registers its Node and keeps its Lease (heartbeat.ts), runs
// the pods bound to it (pod-runner.ts), each in its own network namespace on
// the node bridge when `pgtls up` made one (pod-network.ts), watches the
// Secrets and ConfigMaps they use (object-watches.ts), and serves the kubelet
// API (kubelet-api.ts). Services are the net gateway's (src/local/net). It authenticates as system:node:<name>, so the API
// server's Node authorizer limits it to its own Node, Lease and pods, and to
// the Secrets, ConfigMaps and PVCs those pods reference.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { V1Pod, V1PodStatus, V1Service } from '@kubernetes/client-node';
import { Rest, isCode } from './rest.ts';
import { Reflector } from './reflector.ts';
import type { NodeFacts } from './node-object.ts';
import { PodRunner, type RunnerContext } from './pod-runner.ts';
import { hostsFile, podNetwork, serviceNetwork, type AddressPlan } from './network.ts';
import { LoopbackNetwork, NamespaceNetwork, type PodNetwork } from './pod-network.ts';
import type { EnvSources } from './env.ts';
import { KubeletApi, type KubeletBackend } from './kubelet-api.ts';
import { systemClock, type Clock, type Timer } from './clock.ts';
import { NodeHeartbeat } from './heartbeat.ts';
import { ObjectWatches } from './object-watches.ts';
import { PvcPaths } from './pvc-paths.ts';
import { ServiceAccountTokens } from './service-account-tokens.ts';
import { fieldValue } from './downward-api.ts';
import type { ImageService } from './image-service.ts';
import { hostImages } from './images.ts';
import { builtImages, withFallback } from './built-images.ts';

/** auto: netns when the agent is root and the node namespace exists, else loopback. */
export type PodNetworkMode = 'auto' | 'loopback' | 'netns';

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
  /** Volume ownership as the kubelet does it (ownership.ts); off: files are given to the pod's user. */
  strict?: boolean;
  /** netns: a network namespace per pod on the node bridge; loopback: pods share the host's network (127.P.x.y each). */
  podNetwork?: PodNetworkMode;
  /** Delay before a changed Secret/ConfigMap reaches pod files (0: at once). */
  secretSyncDelayMs?: number;
  /** Where images come from (default: the image builder's store; in lenient mode, host programs for names it does not know). */
  images?: ImageService;
  /** The image builder's store and Debian mirror (defaults: src/images'). */
  imagesDir?: string;
  debianMirror?: string;
  clock?: Clock;
  log?: (msg: string) => void;
}

export class NodeAgent implements KubeletBackend {
  readonly runners = new Map<string, PodRunner>(); // by uid
  private readonly byKey = new Map<string, string>(); // ns/name -> uid
  private pods!: Reflector<V1Pod>;
  private services!: Reflector<V1Service>;
  private watches!: ObjectWatches;
  private pvcs!: PvcPaths;
  private tokens!: ServiceAccountTokens;
  private heartbeat!: NodeHeartbeat;
  private network!: PodNetwork;
  private kubelet?: KubeletApi;
  private changeTimer?: Timer;
  private stopped = false;
  private rest!: Rest;
  readonly log: (msg: string) => void;
  readonly podsDir: string;
  readonly clock: Clock;
  private readonly images: ImageService;

  constructor(readonly opts: AgentOptions) {
    this.log = opts.log ?? ((m) => process.stderr.write(`${new Date().toISOString()} ${m}\n`));
    this.podsDir = join(opts.stateDir, 'pods');
    this.clock = opts.clock ?? systemClock;
    const built = builtImages({ imagesDir: opts.imagesDir, mirror: opts.debianMirror, log: this.log });
    // Strict: every container runs in its image's root filesystem, as on a real node. Lenient: pod
    // specs that still name public images the builder does not make run on the host's programs.
    this.images = opts.images ?? (opts.strict ? built : withFallback(built, hostImages()));
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
    const mode = this.opts.podNetwork ?? 'auto';
    const netns = new NamespaceNetwork(Number(this.rest.server.port));
    if (mode === 'netns') netns.checkNode();
    const useNetns = mode === 'netns' || (mode === 'auto' && process.getuid?.() === 0 && netns.nodeExists());
    this.network = useNetns ? netns : new LoopbackNetwork(this.opts.plan);
    this.heartbeat = new NodeHeartbeat(this.rest, () => this.facts(), this.clock, this.log);
    this.watches = new ObjectWatches(this.rest, (users) => {
      for (const uid of users) {
        const r = this.runners.get(uid);
        if (r && !r.done()) r.sourcesChanged();
      }
    });
    this.tokens = new ServiceAccountTokens(this.rest, this.clock, this.log, (uid) => this.runners.get(uid)?.refreshProjected());
    this.pvcs = new PvcPaths(this.rest, this.clock, this.log, () => {
      for (const r of this.runners.values()) r.kick();
    });
    await this.heartbeat.register();
    await this.heartbeat.start();
    this.services = new Reflector<V1Service>(this.rest, '/api/v1/services', '', this.log).on(() => this.changed()).start();
    this.pods = new Reflector<V1Pod>(this.rest, '/api/v1/pods', `fieldSelector=${encodeURIComponent(`spec.nodeName=${this.opts.nodeName}`)}`, this.log);
    this.pods.on((type, pod) => this.onPod(type, pod));
    this.pods.start();
    await Promise.all([this.pods.waitSynced(), this.services.waitSynced()]);
    await this.cleanOrphans();
    // Listening last: `pgtls up` takes a healthy kubelet API as "the node is up".
    this.kubelet = new KubeletApi(this, { port: this.opts.kubeletPort, cert: this.opts.servingCert, key: this.opts.servingKey, clientCa: this.opts.clientCa });
    await this.kubelet.listen();
    const where = this.network.mode === 'netns' ? 'pods in their own network namespaces' : `pods in ${podNetwork(this.opts.plan)}, services in ${serviceNetwork(this.opts.plan)}`;
    this.log(`node ${this.opts.nodeName} ready: kubelet API on 127.0.0.1:${this.opts.kubeletPort}, ${where}${this.opts.strict ? ', strict kubelet volume ownership' : ''}`);
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
      r = new PodRunner(this.runnerContext(), pod);
      this.runners.set(uid, r);
      this.byKey.set(key, uid);
      r.adopt();
      this.watches.track(uid, pod);
    }
    r.update(pod);
  }

  /** Pod directories (and network namespaces) whose pod no longer exists: stop leftovers, delete. */
  private async cleanOrphans(): Promise<void> {
    for (const uid of readdirSync(this.podsDir)) {
      if (this.runners.has(uid)) continue;
      const dir = join(this.podsDir, uid, 'containers');
      for (const f of existsSync(dir) ? readdirSync(dir) : []) {
        try {
          const { pid } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid: number };
          process.kill(-pid, 'SIGKILL');
        } catch {
          // its process is already gone
        }
      }
      rmSync(join(this.podsDir, uid), { recursive: true, force: true });
      this.log(`removed the directory of deleted pod ${uid}`);
    }
    await this.network.pruneExcept(new Set(this.runners.keys()));
  }

  /** Pods with the addresses and readiness this node knows now. */
  livePods(): V1Pod[] {
    return [...this.runners.values()]
      .filter((r) => !r.done() && r.ip)
      .map((r) => ({ ...r.pod, status: { ...r.pod.status, podIP: r.ip, conditions: [{ type: 'Ready', status: r.isReady() ? 'True' : 'False' }] } }));
  }

  portForwardDial(r: PodRunner, port: number): Duplex {
    // The kubelet dials localhost inside the pod; pods sharing the host's network are reached at their own address.
    const host = this.network.mode === 'netns' ? '127.0.0.1' : r.ip!;
    return this.network.dial(r.uid, host, port, 10_000);
  }

  /** Debounced: every pod's /etc/hosts follows pods and Services. */
  changed(): void {
    if (this.changeTimer || this.stopped) return;
    this.changeTimer = this.clock.setTimeout(() => {
      this.changeTimer = undefined;
      for (const r of this.runners.values()) {
        try {
          r.refreshHosts();
        } catch (err) {
          this.log(`pod ${r.key}: writing /etc/hosts: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }, 100);
  }

  private runnerContext(): RunnerContext {
    const ns = (pod: V1Pod) => pod.metadata!.namespace!;
    return {
      root: process.getuid?.() === 0,
      podsDir: this.podsDir,
      backoffBaseMs: this.opts.backoffBaseMs ?? 10_000,
      secretSyncDelayMs: this.opts.secretSyncDelayMs ?? 0,
      clock: this.clock,
      images: this.images,
      log: this.log,
      sandbox: {
        strict: this.opts.strict ?? false,
        canChown: process.getuid?.() === 0,
        network: this.network,
        volumeSources: (pod, podIP) => ({
          secret: (name) => this.watches.decoded('secrets', ns(pod), name),
          configMap: (name) => this.watches.decoded('configmaps', ns(pod), name),
          field: (path) => fieldValue(pod, path, { podIP, hostIP: this.network.hostIP, nodeName: this.opts.nodeName }),
          token: (source) => this.tokens.token(pod, source),
        }),
        pvcPath: (namespace, claim) => this.pvcs.path(namespace, claim),
        hostsFile: (pod, ip) => hostsFile(pod, ip, this.services.list(), this.livePods(), (svc) => this.network.serviceAddress(svc)),
      },
      envSources: (pod, podIP): EnvSources => ({
        secret: (name) => this.watches.strings('secrets', ns(pod), name),
        configMap: (name) => this.watches.strings('configmaps', ns(pod), name),
        podIP,
        hostIP: this.network.hostIP,
        nodeName: this.opts.nodeName,
        serviceHost: (svc) => this.network.serviceAddress(svc),
        services: this.services.list(),
      }),
      patchStatus: async (pod, status: V1PodStatus) => {
        try {
          await this.rest.mergePatch(`/api/v1/namespaces/${ns(pod)}/pods/${pod.metadata!.name}/status`, { metadata: { uid: pod.metadata!.uid }, status });
        } catch (err) {
          if (!isCode(err, 404) && !isCode(err, 409)) throw new Error(`patching the status of pod ${ns(pod)}/${pod.metadata!.name}: ${String(err)}`, { cause: err });
        }
      },
      finalize: async (pod) => {
        try {
          const body = { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } };
          await this.rest.request('DELETE', `/api/v1/namespaces/${ns(pod)}/pods/${pod.metadata!.name}`, body);
        } catch (err) {
          if (!isCode(err, 404) && !isCode(err, 409)) throw err;
        }
      },
      changed: () => this.changed(),
      released: (uid) => {
        this.watches.release(uid);
        this.tokens.release(uid);
        const r = this.runners.get(uid);
        if (!r) return;
        this.runners.delete(uid);
        if (this.byKey.get(r.key) === uid) this.byKey.delete(r.key);
      },
    };
  }

  runnerFor(ns: string, name: string): PodRunner | undefined {
    const uid = this.byKey.get(`${ns}/${name}`);
    return uid ? this.runners.get(uid) : undefined;
  }

  /** Stops every pod's processes (SIGTERM, grace, SIGKILL), then the agent. Pods stay bound in the API. */
  async shutdown(maxGraceSeconds = 8): Promise<void> {
    this.stopped = true;
    this.heartbeat?.stop();
    this.pods?.stop();
    this.services?.stop();
    this.watches?.stop();
    this.tokens?.stop();
    this.pvcs?.stop();
    await Promise.all([...this.runners.values()].map((r) => r.stopAll(Math.min(r.pod.spec?.terminationGracePeriodSeconds ?? 30, maxGraceSeconds))));
    // Pod networks go with the processes; the next start sets them up again with the same addresses.
    await this.network?.pruneExcept(new Set()).catch((err) => this.log(`removing pod networks: ${String(err)}`));
    await this.kubelet?.close();
    this.rest?.close();
  }

  /** Simulates a crash for tests: drop everything without touching processes. */
  abandon(): void {
    this.stopped = true;
  }
}
