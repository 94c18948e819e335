// One pod on this node, the process side: it syncs the sandbox (network,
// files, volumes), starts the containers the pure core (pod-status.ts) says
// are due, watches their processes, runs their probes, stops them with a
// grace period, and reports status. Syncs never overlap. Each container is one
// process group whose pid is saved, so a restarted agent adopts running
// processes instead of starting them twice.
// Over 400 lines on purpose: what remains here shares one sync chain and its
// timers (start, exit, stop, delete); the pure parts are already apart
// (pod-status, container-plan/-launch/-probes/-process, pod-sandbox).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { isoSeconds, type Clock, type Timer } from './clock.ts';
import { ContainerFiles, ContainerRun, exitCodeOf, killGroup, startTicks, terminateGroup } from './container-process.ts';
import { ContainerStartError } from './container-plan.ts';
import { prepareLaunch, usersOf } from './container-launch.ts';
import { startProbes } from './container-probes.ts';
import { containerEnv, EnvError, type EnvSources } from './env.ts';
import { PodImages, type ImageService, type NodeImage } from './image-service.ts';
import { enterArgv } from './launch.ts';
import { PodSandbox, type SandboxContext } from './pod-sandbox.ts';
import { afterExit, podReady, podStatus, restartPolicy, toStart, type PodView, type Terminated } from './pod-status.ts';
import { graceAfterHooks, preStopActions } from './pre-stop.ts';
import { retryBounded } from './retry.ts';
import { runBounded } from './probes.ts';
import { VolumeError } from './volumes.ts';
import { resolveRunAs } from './users.ts';

export interface RunnerContext {
  /** Namespaces, chroot and setpriv need root; without it processes run as the agent's user. */
  root: boolean;
  podsDir: string;
  backoffBaseMs: number;
  /** How long a changed Secret/ConfigMap takes to reach the pod's files (0: at once), unless the pod itself is updated. */
  secretSyncDelayMs: number;
  clock: Clock;
  images: ImageService;
  sandbox: SandboxContext;
  log(msg: string): void;
  envSources(pod: V1Pod, podIP: string): EnvSources;
  patchStatus(pod: V1Pod, status: V1PodStatus): Promise<void>;
  /** Deletes the pod object once its containers are gone. */
  finalize(pod: V1Pod): Promise<void>;
  /** Pod addresses or readiness changed (Service routes, /etc/hosts). */
  changed(): void;
  /** The pod is gone from this node. */
  released(uid: string): void;
}

/** What in a pod, when updated, makes the kubelet sync it again (not its status). */
const podIdentity = (p: V1Pod) => JSON.stringify([p.metadata?.labels, p.metadata?.annotations, p.metadata?.deletionTimestamp, p.spec]);

export class PodRunner {
  pod: V1Pod;
  readonly uid: string;
  readonly sandbox: PodSandbox;
  private readonly files: ContainerFiles;
  private readonly inits: ContainerRun[];
  private readonly mains: ContainerRun[];
  private readonly podImages: PodImages;
  private chain: Promise<void> = Promise.resolve();
  private timer?: Timer;
  private secretTimer?: Timer;
  private startTime?: string;
  private lastStatusKey = '';
  private volumesReady = false;
  private volumeError?: string;
  /** Projected volumes are rewritten on the next sync (first sync, pod updated, or the Secret delay passed). */
  private projectedDue = true;
  private terminating = false;
  private finished = false;

  constructor(
    private readonly ctx: RunnerContext,
    pod: V1Pod,
  ) {
    this.pod = pod;
    this.uid = pod.metadata!.uid!;
    const dir = join(ctx.podsDir, this.uid);
    this.sandbox = new PodSandbox(ctx.sandbox, dir, this.uid);
    this.files = new ContainerFiles(dir);
    this.inits = (pod.spec?.initContainers ?? []).map((c) => new ContainerRun(c, true));
    this.mains = (pod.spec?.containers ?? []).map((c) => new ContainerRun(c, false));
    this.podImages = new PodImages(ctx.images, ctx.clock, (ms) => this.kick(ms));
    const st = pod.status?.startTime as unknown as string | undefined;
    this.startTime = st ? isoSeconds(Date.parse(String(st))) : undefined;
  }

  get key(): string {
    return `${this.pod.metadata!.namespace}/${this.pod.metadata!.name}`;
  }

  get ip(): string | undefined {
    return this.sandbox.ip;
  }

  all(): ContainerRun[] {
    return [...this.inits, ...this.mains];
  }

  container(name?: string): ContainerRun | undefined {
    return name ? this.all().find((c) => c.name === name) : this.mains[0];
  }

  runningContainer(name?: string): ContainerRun | undefined {
    const c = this.container(name);
    return c?.pid ? c : undefined;
  }

  done(): boolean {
    return this.finished;
  }

  isReady(): boolean {
    return podReady(this.view());
  }

  update(pod: V1Pod): void {
    if (podIdentity(pod) !== podIdentity(this.pod)) this.projectedDue = true;
    this.pod = pod;
    this.kick();
  }

  /**
   * A Secret or ConfigMap the pod uses changed: its files follow at the pod's
   * next volume sync, the configured delay after the first change not yet
   * written (a kubelet's sync period), or at once when the pod is updated.
   */
  sourcesChanged(): void {
    if (this.ctx.secretSyncDelayMs <= 0) {
      this.projectedDue = true;
      this.kick();
      return;
    }
    this.secretTimer ??= this.ctx.clock.setTimeout(() => {
      this.secretTimer = undefined;
      this.projectedDue = true;
      this.kick();
    }, this.ctx.secretSyncDelayMs);
  }

  /** Projected files must be written now (a service account token was renewed). */
  refreshProjected(): void {
    this.projectedDue = true;
    this.kick();
  }

  refreshHosts(): void {
    if (!this.finished) this.sandbox.writeNetFiles(this.pod);
  }

  /** Schedules a sync; syncs never overlap. */
  kick(delayMs = 0): void {
    if (this.finished) return;
    if (delayMs > 0) {
      this.ctx.clock.clearTimeout(this.timer);
      this.timer = this.ctx.clock.setTimeout(() => this.kick(), delayMs);
      return;
    }
    this.chain = this.chain.then(() => this.sync()).catch((err) => this.ctx.log(`pod ${this.key}: sync failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  private view(): PodView {
    return {
      pod: this.pod,
      uid: this.uid,
      inits: this.inits,
      mains: this.mains,
      ip: this.ip,
      hostIP: this.ctx.sandbox.network.hostIP,
      startTime: this.startTime,
      volumesReady: this.volumesReady,
      volumeError: this.volumeError,
      hasProcess: (c) => Boolean((c as ContainerRun).pid),
    };
  }

  status(): V1PodStatus {
    return podStatus(this.view(), this.ctx.clock.now());
  }

  /**
   * Lenient mode only: the user the volumes are given to, the pod's
   * runAsUser or else the first container's image user; 'pending' while that
   * image is being pulled.
   */
  private volumeUser(): { uid: number; gid: number } | undefined | 'pending' {
    if (this.ctx.sandbox.strict || !this.ctx.sandbox.canChown || this.mains.length === 0) return undefined;
    const first = this.mains[0]!;
    const img = this.image(first);
    if (!img) return first.state.kind === 'waiting' && first.state.reason.startsWith('ErrImage') ? undefined : 'pending';
    try {
      const ra = resolveRunAs(this.pod, { name: first.name }, img.config.User, usersOf(img));
      return { uid: ra.uid, gid: ra.gid };
    } catch {
      return undefined; // the container's own start reports why
    }
  }

  private async sync(): Promise<void> {
    if (this.finished) return;
    if (this.pod.metadata?.deletionTimestamp) return this.terminate();
    this.startTime ??= isoSeconds(this.ctx.clock.now());
    try {
      await this.sandbox.network(this.pod);
    } catch (err) {
      this.volumeError = err instanceof Error ? err.message : String(err);
      this.ctx.log(`pod ${this.key}: ${this.volumeError}`);
      this.kick(2000);
      return this.report();
    }
    const user = this.volumeUser();
    if (user === 'pending') return this.report();
    try {
      const due = this.projectedDue;
      this.projectedDue = false;
      if (due) {
        // Written now with the current content: a pending delayed refresh has nothing left to do.
        this.ctx.clock.clearTimeout(this.secretTimer);
        this.secretTimer = undefined;
      }
      if (this.sandbox.writeVolumes(this.pod, user, due) && this.volumesReady) this.ctx.log(`pod ${this.key}: volumes updated`);
      this.volumesReady = true;
      this.volumeError = undefined;
    } catch (err) {
      if (!(err instanceof VolumeError)) throw err;
      this.projectedDue = true;
      this.volumeError = err.message;
      this.kick(2000);
    }
    if (this.volumesReady && !this.terminating) {
      for (const { c, restart } of toStart(this.inits, this.mains, restartPolicy(this.pod), this.ctx.clock.now())) await this.start(c, restart);
    }
    await this.report();
  }

  private async terminate(): Promise<void> {
    const pod = this.pod;
    const grace = pod.metadata!.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.terminating = true;
    const hooksStarted = this.ctx.clock.now();
    this.ctx.log(`pod ${this.key}: deleting (grace ${grace} s)`);
    if (grace > 0) await this.runPreStopHooks(grace);
    await this.stopAll(grace > 0 ? graceAfterHooks(grace, this.ctx.clock.now() - hooksStarted) : 0);
    this.finished = true;
    for (const c of this.all()) for (const t of c.timers) this.ctx.clock.clearTimeout(t);
    this.ctx.clock.clearTimeout(this.timer);
    this.ctx.clock.clearTimeout(this.secretTimer);
    await this.finalize(pod);
    await this.sandbox.remove().catch((err) => this.ctx.log(`pod ${this.key}: removing its sandbox: ${String(err)}`));
    this.ctx.log(`pod ${this.key}: deleted after ${((this.ctx.clock.now() - hooksStarted) / 1000).toFixed(1)} s`);
    this.ctx.released(this.uid);
    this.ctx.changed();
  }

  /**
   * Deletes the pod object once its containers are gone. A failed call is
   * retried: a busy API server must not leave the pod Terminating for good, as
   * nothing else would delete it (about two minutes in all).
   */
  private async finalize(pod: V1Pod): Promise<void> {
    await retryBounded(() => this.ctx.finalize(pod), {
      clock: this.ctx.clock,
      attempts: 16,
      firstDelayMs: 250,
      maxDelayMs: 10_000,
      onError: (err, n) => this.ctx.log(`pod ${this.key}: deleting the pod object (attempt ${n}): ${String(err)}`),
    });
  }

  private image(c: ContainerRun): NodeImage | undefined {
    return this.podImages.get(c);
  }

  private async start(c: ContainerRun, restart: boolean): Promise<void> {
    const img = this.image(c);
    if (!img) return;
    if (restart) {
      if (!c.init) c.last = c.state;
      c.restartCount++;
    }
    c.imageDigest = img.digest;
    let launch;
    try {
      const vars = containerEnv(this.pod, c.spec, this.ctx.envSources(this.pod, this.ip!));
      launch = prepareLaunch(this.pod, c, this.sandbox, img, vars, this.ctx.root);
    } catch (err) {
      if (err instanceof ContainerStartError && err.reason === 'StartError') return this.fail(c, 128, 'StartError', err.message);
      const reason = err instanceof ContainerStartError ? err.reason : err instanceof EnvError || err instanceof VolumeError ? 'CreateContainerConfigError' : undefined;
      if (!reason) throw new Error(`pod ${this.key}: preparing container ${c.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      if (restart) c.restartCount--; // nothing ran: not a restart yet
      c.state = { kind: 'waiting', reason, message: (err as Error).message };
      this.kick(2000);
      return;
    }
    const fd = openSync(this.files.prepareLog(c.name, c.restartCount), 'a', 0o640);
    const child = spawn(launch.file, launch.args, { env: launch.env, cwd: launch.cwd, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const pid = child.pid;
    if (pid === undefined) return this.fail(c, 128, 'StartError', `could not start ${launch.plan.argv[0]}`);
    Object.assign(c, { child, pid, startTicks: startTicks(pid), ready: false, started: !c.spec.startupProbe, stopping: false, setpriv: launch.setpriv, env: launch.env });
    c.state = { kind: 'running', startedAt: isoSeconds(this.ctx.clock.now()) };
    this.files.save(c);
    child.on('exit', (code, signal) => this.exited(c, pid, code, signal));
    child.on('error', (err) => this.ctx.log(`pod ${this.key} container ${c.name}: ${err.message}`));
    this.ctx.log(`pod ${this.key}: started ${c.init ? 'init ' : ''}container ${c.name} (pid ${pid})`);
    if (!c.init) this.probe(c);
  }

  private probe(c: ContainerRun): void {
    startProbes(c, {
      clock: this.ctx.clock,
      pod: () => this.pod,
      ip: () => this.ip ?? '',
      stopped: () => this.terminating,
      exec: (x) => (argv, ms) => this.execCapture(x, argv, ms),
      dial: (host, port, ms) => this.ctx.sandbox.network.dial(this.uid, host, port, ms),
      changed: () => {
        this.kick();
        this.ctx.changed();
      },
      restart: (x, message) => {
        this.ctx.log(`pod ${this.key}: ${message}`);
        void this.stopContainer(x, this.pod.spec?.terminationGracePeriodSeconds ?? 30, false);
      },
    });
  }

  private fail(c: ContainerRun, exitCode: number, reason: string, message: string): void {
    const t = isoSeconds(this.ctx.clock.now());
    c.state = { kind: 'terminated', exitCode, reason, message, startedAt: t, finishedAt: t };
    this.afterExit(c);
  }

  private exited(c: ContainerRun, pid: number, code: number | null, signal: NodeJS.Signals | null, unobserved?: string): void {
    if (c.pid !== pid) return;
    for (const t of c.timers) this.ctx.clock.clearTimeout(t);
    c.timers = [];
    // The container is its process group: orphans (e.g. Pgpool's children) go with it.
    killGroup(pid, 'SIGKILL');
    const startedAt = c.state.kind === 'running' ? c.state.startedAt : isoSeconds(this.ctx.clock.now());
    const finishedAt = isoSeconds(this.ctx.clock.now());
    const exitCode = exitCodeOf(code, signal);
    c.state = unobserved
      ? { kind: 'terminated', exitCode: 255, reason: 'Unknown', message: unobserved, startedAt, finishedAt }
      : { kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt };
    Object.assign(c, { pid: undefined, child: undefined, ready: false });
    this.files.forget(c.name);
    for (const w of c.exitWaiters.splice(0)) w();
    this.ctx.log(`pod ${this.key}: container ${c.name} exited ${exitCode}${signal ? ` (${signal})` : ''}`);
    this.afterExit(c);
    this.ctx.changed();
  }

  private afterExit(c: ContainerRun): void {
    if (c.stopping || this.terminating) return this.kick();
    const { restart } = afterExit(c, restartPolicy(this.pod), this.ctx.clock.now(), this.ctx.backoffBaseMs);
    if (restart) this.kick(c.backoffMs + 50);
    this.kick();
  }

  /** After an agent restart: take over containers whose processes still run. */
  adopt(): void {
    for (const c of this.all()) {
      const s = this.files.load(c.name);
      if (!s) continue;
      c.restartCount = s.restartCount;
      const st = this.pod.status?.[c.init ? 'initContainerStatuses' : 'containerStatuses']?.find((x) => x.name === c.name);
      if (s.pid && startTicks(s.pid) === s.startTicks) {
        Object.assign(c, { pid: s.pid, startTicks: s.startTicks, setpriv: s.setpriv ?? [], env: s.env ?? {}, imageDigest: s.imageDigest });
        c.state = { kind: 'running', startedAt: s.startedAt };
        c.started = st?.started ?? true;
        c.ready = st?.ready ?? false;
        const t = this.ctx.clock.setInterval(() => {
          if (startTicks(s.pid) === c.startTicks) return;
          this.ctx.clock.clearInterval(t);
          this.exited(c, s.pid, null, null, 'the node agent restarted while this container ran; its exit status was not observed');
        }, 1000);
        c.timers.push(t);
        if (!c.init) this.probe(c);
        this.ctx.log(`pod ${this.key}: adopted container ${c.name} (pid ${s.pid})`);
      } else if (st?.state?.terminated && c.init) {
        const t = st.state.terminated;
        const now = isoSeconds(this.ctx.clock.now());
        c.state = { kind: 'terminated', exitCode: t.exitCode, reason: t.reason ?? '', startedAt: String(t.startedAt ?? now), finishedAt: String(t.finishedAt ?? now) } as Terminated;
      }
    }
  }

  logFile(name: string | undefined, previous: boolean): string | undefined {
    const c = this.container(name);
    return c ? this.files.logFile(c, previous) : undefined;
  }

  /** argv and environment that run a command inside a running container, with its identity. */
  execArgv(c: ContainerRun, argv: string[]): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
    if (!c.pid) throw new Error(`container ${c.name} is not running`);
    const env = { ...c.env };
    if (!this.ctx.root) return { file: argv[0]!, args: argv.slice(1), env };
    return { ...enterArgv(c.pid, c.setpriv, argv), env };
  }

  /** Runs a command inside a running container and collects its output. */
  execCapture(c: ContainerRun, argv: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
    const { file, args, env } = this.execArgv(c, argv);
    return runBounded(file, args, env, timeoutMs);
  }

  /** The running containers' preStop hooks, in parallel, before any is signalled (as the kubelet does). */
  private async runPreStopHooks(graceSeconds: number): Promise<void> {
    const running = this.mains.filter((c) => c.pid && c.state.kind === 'running').map((c) => c.spec);
    await Promise.all(
      preStopActions(running, graceSeconds).map(async (a) => {
        if (a.kind === 'sleep') return this.ctx.clock.sleep(a.ms);
        if (a.kind === 'unsupported') return this.ctx.log(`pod ${this.key} container ${a.container}: ${a.detail}`);
        const c = this.mains.find((m) => m.name === a.container)!;
        const r = await this.execCapture(c, a.argv, a.timeoutMs).catch((err: unknown) => ({ code: -1, output: String(err) }));
        if (r.code !== 0) this.ctx.log(`pod ${this.key} container ${a.container}: FailedPreStopHook (exit ${r.code}): ${r.output.slice(0, 200)}`);
      }),
    );
  }

  /** SIGTERM the container's process group, SIGKILL after the grace period. */
  async stopContainer(c: ContainerRun, graceSeconds: number, final: boolean): Promise<void> {
    const pid = c.pid;
    if (!pid) return;
    c.stopping = final;
    await terminateGroup(c, pid, graceSeconds, this.ctx.clock, (sig) => this.exited(c, pid, null, sig));
  }

  /** Stops every container (node shutdown or pod deletion). */
  async stopAll(graceSeconds: number): Promise<void> {
    this.terminating = true;
    await Promise.all(this.all().map((c) => this.stopContainer(c, graceSeconds, true)));
  }

  private async report(): Promise<void> {
    const st = this.status();
    const key = JSON.stringify({ ...st, conditions: (st.conditions ?? []).map((c) => [c.type, c.status]) });
    if (key === this.lastStatusKey) return;
    await this.ctx.patchStatus(this.pod, st);
    this.lastStatusKey = key;
  }
}
