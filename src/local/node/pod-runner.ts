// One pod on this node: its directory, volumes, containers (init containers
// first), restarts with back-off, probes, status and graceful termination.
// Each container is one process group; its pid is recorded on disk so that an
// agent restarted after a crash adopts the processes instead of starting them twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1ContainerStatus, V1Pod, V1PodStatus, V1Probe } from '@kubernetes/client-node';
import { lookupImage, resolveCommand, type LocalImage } from './images.ts';
import { commandLine, containerEnv, EnvError, type EnvSources } from './env.ts';
import { hostRootEntries, launchArgv, launchScript, enterArgv, type HostEntry, type Mount } from './launch.ts';
import { isProjectedKind, ownVolumeRoot, payloadFor, volumeDir, VolumeError, writeAtomic, type Owner, type VolumeSources } from './volumes.ts';
import { homeOf, runAs, UserError, type RunAs } from './users.ts';
import { runBounded, runProbe } from './probes.ts';
import { resolvConf } from './network.ts';

export interface NodeContext {
  nodeName: string;
  /** Mount namespaces and setpriv need root; without it processes run as the agent's user. */
  root: boolean;
  podsDir: string;
  backoffBaseMs: number;
  log(msg: string): void;
  envSources(pod: V1Pod, podIP: string): EnvSources;
  volumeSources(pod: V1Pod, podIP: string): VolumeSources;
  /** Host directory of a bound PVC; throws VolumeError while it is not bound. */
  pvcPath(namespace: string, claim: string): string;
  hostsFile(pod: V1Pod, podIP: string): string;
  allocateIp(pod: V1Pod): string;
  releaseIp(uid: string): void;
  patchStatus(pod: V1Pod, status: V1PodStatus): Promise<void>;
  finalize(pod: V1Pod): Promise<void>;
  changed(): void;
}

type State =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | { kind: 'terminated'; exitCode: number; reason: string; message?: string; startedAt: string; finishedAt: string; signal?: number };

interface Saved {
  pid: number;
  startTicks: string;
  restartCount: number;
  startedAt: string;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startTicks(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return rest[19];
  } catch {
    return undefined;
  }
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

class ContainerRun {
  restartCount = 0;
  state: State = { kind: 'waiting', reason: 'ContainerCreating' };
  last?: State;
  pid?: number;
  startTicks?: string;
  child?: ChildProcess;
  ready = false;
  started = false;
  backoffMs = 0;
  nextStartAt = 0;
  runAs?: RunAs;
  env: Record<string, string> = {};
  timers: NodeJS.Timeout[] = [];
  stopping = false;
  exitWaiters: (() => void)[] = [];
  image?: LocalImage;
  constructor(
    readonly spec: V1Container,
    readonly init: boolean,
  ) {}
  get name() {
    return this.spec.name;
  }
}

export class PodRunner {
  pod: V1Pod;
  readonly uid: string;
  readonly dir: string;
  ip?: string;
  private readonly inits: ContainerRun[];
  private readonly mains: ContainerRun[];
  private chain: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private startTime?: string;
  private lastStatusJson = '';
  private volumesReady = false;
  private volumeError?: string;
  private terminating = false;
  private finished = false;
  private static host?: HostEntry[];

  constructor(
    private readonly ctx: NodeContext,
    pod: V1Pod,
  ) {
    this.pod = pod;
    this.uid = pod.metadata!.uid!;
    this.dir = join(ctx.podsDir, this.uid);
    this.inits = (pod.spec?.initContainers ?? []).map((c) => new ContainerRun(c, true));
    this.mains = (pod.spec?.containers ?? []).map((c) => new ContainerRun(c, false));
    this.startTime = pod.status?.startTime ? new Date(pod.status.startTime as unknown as string).toISOString().replace(/\.\d+Z$/, 'Z') : undefined;
  }

  get key(): string {
    return `${this.pod.metadata!.namespace}/${this.pod.metadata!.name}`;
  }

  all(): ContainerRun[] {
    return [...this.inits, ...this.mains];
  }

  container(name?: string): ContainerRun | undefined {
    return name ? this.all().find((c) => c.name === name) : this.mains[0];
  }

  update(pod: V1Pod): void {
    this.pod = pod;
    this.kick();
  }

  /** Schedules a sync; syncs never overlap. */
  kick(delayMs = 0): void {
    if (this.finished) return;
    if (delayMs > 0) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.kick(), delayMs);
      return;
    }
    this.chain = this.chain.then(() => this.sync()).catch((err) => this.ctx.log(`pod ${this.key}: sync failed: ${String(err)}`));
  }

  private restartPolicy(): string {
    return this.pod.spec?.restartPolicy ?? 'Always';
  }

  private podIP(): string {
    if (!this.ip) {
      mkdirSync(this.dir, { recursive: true, mode: 0o711 });
      const file = join(this.dir, 'ip');
      this.ip = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
      this.ip = this.ctx.allocateIp({ ...this.pod, status: { ...this.pod.status, podIP: this.ip ?? this.pod.status?.podIP } });
      writeFileSync(file, this.ip);
    }
    return this.ip;
  }

  /** The user that owns the pod's volume files: pod runAsUser, else the first container's image user. */
  private volumeOwner(): Owner | undefined {
    if (!this.ctx.root) return undefined;
    const first = this.mains[0];
    const img = first ? lookupImage(first.spec.image ?? '') : undefined;
    try {
      const ra = runAs(this.pod, { name: 'x' }, img?.ok ? img.image.user : 'root');
      const fsGroup = this.pod.spec?.securityContext?.fsGroup;
      return { uid: ra.uid, gid: fsGroup ?? ra.gid };
    } catch {
      return undefined;
    }
  }

  private writeNetFiles(ip: string): void {
    const net = join(this.dir, 'net');
    mkdirSync(net, { recursive: true });
    const hosts = this.ctx.hostsFile(this.pod, ip);
    const hostsPath = join(net, 'hosts');
    // In place, not by rename: running containers have this inode bind-mounted.
    if (!existsSync(hostsPath) || readFileSync(hostsPath, 'utf8') !== hosts) writeFileSync(hostsPath, hosts, { mode: 0o644 });
    const resolv = join(net, 'resolv.conf');
    if (!existsSync(resolv)) writeFileSync(resolv, resolvConf(this.pod.metadata!.namespace!), { mode: 0o644 });
    const hn = join(net, 'hostname');
    if (!existsSync(hn)) writeFileSync(hn, `${this.pod.spec?.hostname ?? this.pod.metadata!.name}\n`, { mode: 0o644 });
  }

  refreshHosts(): void {
    if (this.ip && !this.finished) this.writeNetFiles(this.ip);
  }

  /** Writes Secret/ConfigMap/... volumes; later calls update them atomically. */
  refreshVolumes(): boolean {
    const ip = this.podIP();
    const owner = this.volumeOwner();
    const src = this.ctx.volumeSources(this.pod, ip);
    let changed = false;
    for (const v of this.pod.spec?.volumes ?? []) {
      const dir = volumeDir(this.dir, v);
      if (isProjectedKind(v)) {
        if (writeAtomic(dir, payloadFor(this.pod, v, src), owner)) changed = true;
      } else if (v.emptyDir) {
        if (!existsSync(dir)) {
          mkdirSync(dir, { recursive: true, mode: 0o777 });
          if (owner) ownVolumeRoot(dir, owner, this.pod.spec?.securityContext?.fsGroup);
        }
      } else if (v.persistentVolumeClaim) {
        const p = this.ctx.pvcPath(this.pod.metadata!.namespace!, v.persistentVolumeClaim.claimName);
        mkdirSync(p, { recursive: true, mode: 0o755 });
        ownVolumeRoot(p, owner, this.pod.spec?.securityContext?.fsGroup);
      } else if (!v.hostPath) {
        throw new VolumeError(`volume ${v.name}: this node supports secret, configMap, projected, downwardAPI, emptyDir, persistentVolumeClaim and hostPath volumes`);
      }
    }
    return changed;
  }

  private mountsFor(c: V1Container): Mount[] {
    const out: Mount[] = [];
    for (const vm of c.volumeMounts ?? []) {
      const v = (this.pod.spec?.volumes ?? []).find((x) => x.name === vm.name);
      if (!v) throw new VolumeError(`volumeMount ${vm.name}: no such volume`);
      let source = v.persistentVolumeClaim
        ? this.ctx.pvcPath(this.pod.metadata!.namespace!, v.persistentVolumeClaim.claimName)
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
      out.push({ source, target: vm.mountPath, readOnly: vm.readOnly || Boolean(v.secret || v.configMap || v.projected || v.downwardAPI), file });
    }
    return out;
  }

  private logPath(c: ContainerRun, restart: number): string {
    return join(this.dir, 'logs', c.name, `${restart}.log`);
  }

  logFile(name: string | undefined, previous: boolean): string | undefined {
    const c = this.container(name);
    if (!c) return undefined;
    const n = previous ? c.restartCount - 1 : c.restartCount;
    if (n < 0) return undefined;
    const p = this.logPath(c, n);
    return existsSync(p) ? p : undefined;
  }

  private savedPath(c: ContainerRun): string {
    return join(this.dir, 'containers', `${c.name}.json`);
  }

  private save(c: ContainerRun): void {
    mkdirSync(join(this.dir, 'containers'), { recursive: true });
    const s: Saved = { pid: c.pid!, startTicks: c.startTicks ?? '', restartCount: c.restartCount, startedAt: (c.state as { startedAt: string }).startedAt };
    writeFileSync(this.savedPath(c), JSON.stringify(s));
  }

  /** After an agent restart: take over containers whose processes still run. */
  adopt(): void {
    for (const c of this.all()) {
      const file = this.savedPath(c);
      if (!existsSync(file)) continue;
      const s = JSON.parse(readFileSync(file, 'utf8')) as Saved;
      c.restartCount = s.restartCount;
      const st = this.pod.status?.[c.init ? 'initContainerStatuses' : 'containerStatuses']?.find((x) => x.name === c.name);
      if (s.pid && startTicks(s.pid) === s.startTicks) {
        c.pid = s.pid;
        c.startTicks = s.startTicks;
        c.state = { kind: 'running', startedAt: s.startedAt };
        c.started = st?.started ?? true;
        c.ready = st?.ready ?? false;
        this.setupRunAs(c);
        this.watchAdopted(c);
        this.startProbes(c);
        this.ctx.log(`pod ${this.key}: adopted container ${c.name} (pid ${s.pid})`);
      } else if (st?.state?.terminated && c.init) {
        const t = st.state.terminated;
        c.state = { kind: 'terminated', exitCode: t.exitCode, reason: t.reason ?? '', startedAt: String(t.startedAt ?? now()), finishedAt: String(t.finishedAt ?? now()) };
      }
    }
  }

  private setupRunAs(c: ContainerRun): void {
    const img = lookupImage(c.spec.image ?? '');
    if (img.ok) c.image = img.image;
    if (!this.ctx.root) {
      c.runAs = { uid: process.getuid!(), gid: process.getgid!(), groups: [] };
      return;
    }
    c.runAs = runAs(this.pod, c.spec, img.ok ? img.image.user : 'root');
  }

  private watchAdopted(c: ContainerRun): void {
    const pid = c.pid!;
    const t = setInterval(() => {
      if (startTicks(pid) === c.startTicks) return;
      clearInterval(t);
      this.exited(c, pid, null, null, 'the node agent restarted while this container ran; its exit status was not observed');
    }, 1000);
    c.timers.push(t);
  }

  private async start(c: ContainerRun): Promise<void> {
    const ip = this.podIP();
    const img = lookupImage(c.spec.image ?? '');
    if (!img.ok) {
      c.state = { kind: 'waiting', reason: c.state.kind === 'waiting' && c.state.reason.startsWith('ErrImage') ? 'ImagePullBackOff' : 'ErrImagePull', message: img.message };
      if (c.state.reason === 'ErrImagePull') this.kick(5000);
      else this.kick(10_000);
      return;
    }
    c.image = img.image;
    let argv: string[] | undefined;
    try {
      this.setupRunAs(c);
      c.env = containerEnv(this.pod, c.spec, this.ctx.envSources(this.pod, ip));
      argv = commandLine(c.spec, img.image, c.env);
    } catch (err) {
      if (err instanceof EnvError || err instanceof UserError) {
        c.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: err.message };
        this.kick(2000);
        return;
      }
      throw err;
    }
    if (!argv) {
      c.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: `image ${c.spec.image} has no default command on this node; set command` };
      this.kick(5000);
      return;
    }
    if (!argv[0]!.includes('/')) {
      const resolved = resolveCommand(img.image, argv[0]!);
      if (!resolved) {
        this.fail(c, 128, 'StartError', `exec: "${argv[0]}": executable file not found in $PATH (${img.image.path.join(':')})`);
        return;
      }
      argv[0] = resolved;
    }
    const ra = c.runAs!;
    const env: Record<string, string> = {
      PATH: img.image.path.join(':'),
      HOSTNAME: this.pod.spec?.hostname ?? this.pod.metadata!.name!,
      HOME: homeOf(ra.uid),
      ...(img.image.libPath ? { LD_LIBRARY_PATH: img.image.libPath.join(':') } : {}),
      ...(c.spec.tty ? { TERM: 'xterm' } : {}),
      ...c.env,
    };
    const logFile = this.logPath(c, c.restartCount);
    mkdirSync(join(this.dir, 'logs', c.name), { recursive: true });
    // Only the current and the previous run's logs are kept, as the kubelet does.
    for (const f of readdirSync(join(this.dir, 'logs', c.name))) {
      const n = Number.parseInt(f, 10);
      if (n < c.restartCount - 1) rmSync(join(this.dir, 'logs', c.name, f), { force: true });
    }
    const fd = openSync(logFile, 'a', 0o640);
    let file: string;
    let args: string[];
    let cwd: string | undefined;
    const workingDir = c.spec.workingDir ?? '/';
    try {
      if (this.ctx.root) {
        this.writeNetFiles(ip);
        const base = join(this.dir, 'rootfs', c.name);
        rmSync(base, { recursive: true, force: true });
        for (const d of ['root', 'etc-upper', 'etc-work']) mkdirSync(join(base, d), { recursive: true, mode: 0o755 });
        PodRunner.host ??= hostRootEntries();
        const mounts = this.mountsFor(c.spec);
        const script = launchScript(
          {
            rootfs: join(base, 'root'),
            etcUpper: join(base, 'etc-upper'),
            etcWork: join(base, 'etc-work'),
            hostsFile: join(this.dir, 'net', 'hosts'),
            resolvFile: join(this.dir, 'net', 'resolv.conf'),
            hostnameFile: join(this.dir, 'net', 'hostname'),
            extraRoots: img.image.extraRoots ?? [],
            mounts,
            uid: ra.uid,
            gid: ra.gid,
            groups: ra.groups,
            workingDir,
            argv,
          },
          PodRunner.host,
        );
        ({ file, args } = launchArgv(script));
      } else {
        file = argv[0]!;
        args = argv.slice(1);
        cwd = existsSync(workingDir) && workingDir !== '/' ? workingDir : this.dir;
      }
    } catch (err) {
      closeSync(fd);
      if (err instanceof VolumeError) {
        c.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: err.message };
        this.kick(2000);
        return;
      }
      throw err;
    }
    const child = spawn(file, args, { env, cwd, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const startedAt = now();
    const pid = child.pid;
    if (pid === undefined) {
      this.fail(c, 128, 'StartError', `could not start ${argv[0]}`);
      return;
    }
    c.child = child;
    c.pid = pid;
    c.startTicks = startTicks(pid);
    c.state = { kind: 'running', startedAt };
    c.ready = false;
    c.started = !c.spec.startupProbe;
    c.stopping = false;
    this.save(c);
    child.on('exit', (code, signal) => this.exited(c, pid, code, signal));
    child.on('error', (err) => this.ctx.log(`pod ${this.key} container ${c.name}: ${err.message}`));
    this.ctx.log(`pod ${this.key}: started ${c.init ? 'init ' : ''}container ${c.name} (pid ${pid})`);
    if (!c.init) this.startProbes(c);
  }

  private fail(c: ContainerRun, exitCode: number, reason: string, message: string): void {
    const t = now();
    c.state = { kind: 'terminated', exitCode, reason, message, startedAt: t, finishedAt: t };
    this.afterExit(c);
  }

  private exited(c: ContainerRun, pid: number, code: number | null, signal: NodeJS.Signals | null, unobserved?: string): void {
    if (c.pid !== pid) return;
    for (const t of c.timers) clearTimeout(t);
    c.timers = [];
    // The container is its process group: orphans (e.g. Pgpool's children) go with it.
    killGroup(pid, 'SIGKILL');
    const startedAt = c.state.kind === 'running' ? c.state.startedAt : now();
    const exitCode = code ?? (signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1, SIGQUIT: 3, SIGABRT: 6 }) as Record<string, number>)[signal]! : 255);
    c.state = unobserved
      ? { kind: 'terminated', exitCode: 255, reason: 'Unknown', message: unobserved, startedAt, finishedAt: now() }
      : { kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: now() };
    c.pid = undefined;
    c.child = undefined;
    c.ready = false;
    rmSync(this.savedPath(c), { force: true });
    for (const w of c.exitWaiters.splice(0)) w();
    this.ctx.log(`pod ${this.key}: container ${c.name} exited ${exitCode}${signal ? ` (${signal})` : ''}`);
    this.afterExit(c);
    this.ctx.changed();
  }

  private afterExit(c: ContainerRun): void {
    if (c.stopping || this.terminating) {
      this.kick();
      return;
    }
    const t = c.state as Extract<State, { kind: 'terminated' }>;
    const policy = this.restartPolicy();
    const restart = policy === 'Always' || (policy === 'OnFailure' && t.exitCode !== 0) || (c.init && t.exitCode !== 0 && policy !== 'Never');
    if (c.init && t.exitCode === 0) {
      this.kick();
      return;
    }
    if (!restart) {
      this.kick();
      return;
    }
    // Back-off as the kubelet: 10 s doubling to 5 min, reset after 10 min of running.
    const ran = Date.parse(t.finishedAt) - Date.parse(t.startedAt);
    c.backoffMs = ran > 600_000 || c.backoffMs === 0 ? this.ctx.backoffBaseMs : Math.min(c.backoffMs * 2, 300_000);
    c.nextStartAt = Date.now() + c.backoffMs;
    this.kick(c.backoffMs + 50);
    this.kick();
  }

  private startProbes(c: ContainerRun): void {
    const probes: [V1Probe | undefined, 'startup' | 'liveness' | 'readiness'][] = [
      [c.spec.startupProbe, 'startup'],
      [c.spec.livenessProbe, 'liveness'],
      [c.spec.readinessProbe, 'readiness'],
    ];
    if (!c.spec.readinessProbe) c.ready = c.started;
    for (const [probe, kind] of probes) {
      if (!probe) continue;
      const pid = c.pid;
      let fails = 0;
      let oks = 0;
      const period = (probe.periodSeconds ?? 10) * 1000;
      const tick = async () => {
        if (c.pid !== pid || this.terminating) return;
        if (kind !== 'startup' && !c.started) {
          c.timers.push(setTimeout(() => void tick(), Math.min(period, 1000)));
          return;
        }
        if (kind === 'startup' && c.started) return;
        const r = await runProbe(probe, this.pod, this.ip!, (argv, ms) => this.execCapture(c, argv, ms));
        if (c.pid !== pid) return;
        if (r.ok) {
          oks++;
          fails = 0;
        } else {
          fails++;
          oks = 0;
        }
        if (kind === 'readiness') {
          const ready = r.ok ? oks >= (probe.successThreshold ?? 1) || c.ready : fails < (probe.failureThreshold ?? 3) && c.ready;
          if (ready !== c.ready) {
            c.ready = ready;
            this.kick();
            this.ctx.changed();
          }
        } else if (kind === 'startup' && r.ok) {
          c.started = true;
          if (!c.spec.readinessProbe) c.ready = true;
          this.kick();
          this.ctx.changed();
        } else if (!r.ok && fails >= (probe.failureThreshold ?? 3)) {
          this.ctx.log(`pod ${this.key}: container ${c.name} failed ${kind} probe, will be restarted: ${r.message}`);
          void this.stopContainer(c, this.pod.spec?.terminationGracePeriodSeconds ?? 30, false);
          return;
        }
        c.timers.push(setTimeout(() => void tick(), period));
      };
      c.timers.push(setTimeout(() => void tick(), (probe.initialDelaySeconds ?? 0) * 1000));
    }
    if (!c.spec.readinessProbe && c.started) c.ready = true;
  }

  /** Runs a command inside a running container and collects its output. */
  execCapture(c: ContainerRun, argv: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
    const { file, args, env } = this.execArgv(c, argv);
    return runBounded(file, args, env, timeoutMs);
  }

  execArgv(c: ContainerRun, argv: string[]): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
    if (!c.pid) throw new Error(`container ${c.name} is not running`);
    const img = c.image;
    const env = { PATH: img?.path.join(':') ?? '/usr/bin:/bin', HOME: homeOf(c.runAs?.uid ?? 0), ...c.env };
    if (!this.ctx.root) return { file: argv[0]!, args: argv.slice(1), env };
    const ra = c.runAs!;
    const cmd = [...argv];
    if (img && !cmd[0]!.includes('/')) cmd[0] = resolveCommand(img, cmd[0]!) ?? cmd[0]!;
    const { file, args } = enterArgv(c.pid, ra.uid, ra.gid, ra.groups, cmd);
    return { file, args, env };
  }

  runningContainer(name?: string): ContainerRun | undefined {
    const c = this.container(name);
    return c?.pid ? c : undefined;
  }

  /** SIGTERM the container's process group, SIGKILL after the grace period. */
  async stopContainer(c: ContainerRun, graceSeconds: number, final: boolean): Promise<void> {
    const pid = c.pid;
    if (!pid) return;
    c.stopping = final;
    const gone = new Promise<void>((r) => c.exitWaiters.push(r));
    killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceSeconds * 1000;
    const adopted = !c.child;
    while (c.pid === pid && Date.now() < deadline) {
      await Promise.race([gone, sleep(adopted ? 200 : 1000)]);
      if (adopted && startTicks(pid) !== c.startTicks) this.exited(c, pid, null, 'SIGTERM');
    }
    if (c.pid === pid) {
      killGroup(pid, 'SIGKILL');
      const killDeadline = Date.now() + 5000;
      while (c.pid === pid && Date.now() < killDeadline) {
        await Promise.race([gone, sleep(100)]);
        if (adopted && startTicks(pid) !== c.startTicks) this.exited(c, pid, null, 'SIGKILL');
      }
    }
    const g = Date.now() + 2000;
    while (groupAlive(pid) && Date.now() < g) await sleep(50);
  }

  /** Stops every container (node shutdown or pod deletion). */
  async stopAll(graceSeconds: number): Promise<void> {
    this.terminating = true;
    await Promise.all(this.all().map((c) => this.stopContainer(c, graceSeconds, true)));
  }

  private async sync(): Promise<void> {
    if (this.finished) return;
    const pod = this.pod;
    if (pod.metadata?.deletionTimestamp) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      await this.stopAll(grace);
      this.finished = true;
      for (const c of this.all()) for (const t of c.timers) clearTimeout(t);
      clearTimeout(this.timer);
      await this.ctx.finalize(pod).catch((err) => this.ctx.log(`pod ${this.key}: finalize: ${String(err)}`));
      rmSync(this.dir, { recursive: true, force: true });
      this.ctx.releaseIp(this.uid);
      this.ctx.changed();
      return;
    }
    this.startTime ??= now();
    this.podIP();
    try {
      this.refreshVolumes();
      this.volumesReady = true;
      this.volumeError = undefined;
    } catch (err) {
      if (!(err instanceof VolumeError)) throw err;
      this.volumeError = err.message;
      this.kick(2000);
    }
    if (this.volumesReady && !this.terminating) await this.runContainers();
    await this.report();
  }

  private async runContainers(): Promise<void> {
    const policy = this.restartPolicy();
    for (const c of this.inits) {
      if (c.state.kind === 'terminated' && c.state.exitCode === 0) continue;
      if (c.state.kind === 'running') return;
      if (c.state.kind === 'terminated') {
        if (policy === 'Never') return; // the pod has failed
        if (Date.now() < c.nextStartAt) return;
        c.restartCount++;
      }
      await this.start(c);
      return;
    }
    for (const c of this.mains) {
      if (c.state.kind === 'running') continue;
      if (c.state.kind === 'terminated') {
        const t = c.state;
        const restart = policy === 'Always' || (policy === 'OnFailure' && t.exitCode !== 0);
        if (!restart || Date.now() < c.nextStartAt) continue;
        c.last = c.state;
        c.restartCount++;
      }
      await this.start(c);
    }
  }

  private containerStatus(c: ContainerRun): V1ContainerStatus {
    const state = (s: State) =>
      s.kind === 'waiting'
        ? { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } }
        : s.kind === 'running'
          ? { running: { startedAt: s.startedAt } }
          : {
              terminated: {
                exitCode: s.exitCode,
                reason: s.reason,
                ...(s.message ? { message: s.message } : {}),
                startedAt: s.startedAt,
                finishedAt: s.finishedAt,
                containerID: `pgtls://${this.uid}/${c.name}`,
              },
            };
    let shown: State = c.state;
    const policy = this.restartPolicy();
    if (c.state.kind === 'terminated' && Date.now() < c.nextStartAt && (policy !== 'Never' || c.init) && !(c.init && c.state.exitCode === 0)) {
      shown = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(c.backoffMs / 1000)}s restarting failed container=${c.name} pod=${this.pod.metadata!.name}_${this.pod.metadata!.namespace}(${this.uid})` };
    } else if (!c.init && c.state.kind === 'waiting' && c.state.reason === 'ContainerCreating' && !this.initsDone()) {
      shown = { kind: 'waiting', reason: 'PodInitializing' };
    } else if (c.state.kind === 'waiting' && c.state.reason === 'ContainerCreating' && this.volumeError) {
      shown = { kind: 'waiting', reason: 'ContainerCreating', message: this.volumeError };
    }
    const last = shown.kind === 'waiting' && c.state.kind === 'terminated' ? c.state : c.last;
    return {
      name: c.name,
      image: c.spec.image ?? '',
      imageID: c.image ? `pgtls-local://${c.spec.image}` : '',
      ...(c.pid || c.state.kind === 'terminated' ? { containerID: `pgtls://${this.uid}/${c.name}` } : {}),
      ready: c.ready,
      started: c.state.kind === 'running' ? c.started : false,
      restartCount: c.restartCount,
      state: state(shown) as never,
      lastState: (last ? state(last) : {}) as never,
    };
  }

  private initsDone(): boolean {
    return this.inits.every((c) => c.state.kind === 'terminated' && c.state.exitCode === 0);
  }

  status(): V1PodStatus {
    const t = now();
    const initsDone = this.initsDone();
    const policy = this.restartPolicy();
    const mains = this.mains;
    const allReady = mains.every((c) => c.ready);
    const initFailed = this.inits.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0) && policy === 'Never';
    const allTerminated = mains.every((c) => c.state.kind === 'terminated');
    let phase = 'Pending';
    if (initFailed) phase = 'Failed';
    else if (initsDone && mains.some((c) => c.state.kind === 'running')) phase = 'Running';
    else if (initsDone && allTerminated && policy !== 'Always') {
      const failed = mains.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
      phase = failed ? (policy === 'Never' ? 'Failed' : 'Running') : 'Succeeded';
    } else if (initsDone && mains.some((c) => c.restartCount > 0 || c.state.kind === 'terminated')) phase = 'Running';
    const cond = (type: string, ok: boolean, reason?: string) => {
      const old = this.pod.status?.conditions?.find((c) => c.type === type);
      const status = ok ? 'True' : 'False';
      return {
        type,
        status,
        lastProbeTime: null,
        lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : t,
        ...(ok || !reason ? {} : { reason }),
      };
    };
    const gates = (this.pod.spec?.readinessGates ?? []).every((g) => this.pod.status?.conditions?.some((c) => c.type === g.conditionType && c.status === 'True'));
    const ready = initsDone && allReady && phase === 'Running';
    return {
      phase,
      conditions: [
        cond('PodReadyToStartContainers', Boolean(this.ip) && this.volumesReady),
        cond('Initialized', initsDone, 'ContainersNotInitialized'),
        cond('Ready', ready && gates, 'ContainersNotReady'),
        cond('ContainersReady', ready, 'ContainersNotReady'),
        cond('PodScheduled', true),
      ] as never,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      ...(this.ip ? { podIP: this.ip, podIPs: [{ ip: this.ip }] } : {}),
      startTime: this.startTime as never,
      ...(this.inits.length > 0 ? { initContainerStatuses: this.inits.map((c) => this.containerStatus(c)) } : {}),
      containerStatuses: mains.map((c) => this.containerStatus(c)),
      qosClass: this.pod.status?.qosClass ?? 'BestEffort',
    };
  }

  isReady(): boolean {
    return this.initsDone() && this.mains.every((c) => c.ready) && this.mains.some((c) => c.state.kind === 'running');
  }

  private async report(): Promise<void> {
    const st = this.status();
    const key = JSON.stringify({ ...st, conditions: (st.conditions ?? []).map((c) => [c.type, c.status]) });
    if (key === this.lastStatusJson) return;
    await this.ctx.patchStatus(this.pod, st);
    this.lastStatusJson = key;
    // CrashLoopBackOff turns back into a start: report again when the back-off ends.
  }

  done(): boolean {
    return this.finished;
  }
}
