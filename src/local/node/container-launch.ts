// From a planned container to the argv that starts it: the launch script
// for its root (image overlay or host-binary root), inside the pod's network
// namespace; or, for an agent without root, the program itself on the host.
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { planContainer, type ContainerPlan } from './container-plan.ts';
import type { NodeImage } from './image-service.ts';
import { hostRootEntries, launchArgv, launchScript, type HostEntry } from './launch.ts';
import type { PodSandbox } from './pod-sandbox.ts';
import { podHostname } from './pod-sandbox.ts';
import { setprivArgs } from './security.ts';
import { userDbOf, type UserDb } from './users.ts';
import type { ContainerRun } from './container-process.ts';

export interface Launch {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  plan: ContainerPlan;
  setpriv: string[];
}

let hostEntries: HostEntry[] | undefined;
let hostDb: UserDb | undefined;

/** The image's user database (the host's for host-binary images), read once per image root. */
export function usersOf(image: NodeImage): UserDb {
  if (image.rootfs) return userDbOf(image.rootfs);
  hostDb ??= userDbOf('/');
  return hostDb;
}

/** Throws ContainerStartError (config, create or start error) or VolumeError. */
export function prepareLaunch(pod: V1Pod, c: ContainerRun, sandbox: PodSandbox, image: NodeImage, vars: Record<string, string>, asRoot: boolean): Launch {
  const plan = planContainer({ pod, container: c.spec, image, vars, users: usersOf(image), hostname: podHostname(pod), root: image.rootfs ?? '/' });
  const setpriv = setprivArgs(plan.runAs, plan.security);
  if (!asRoot) {
    // No namespaces, no chroot, no user switch: the program runs on the host as the agent's user.
    return { file: plan.argv[0]!, args: plan.argv.slice(1), env: plan.env, cwd: sandbox.dir, plan, setpriv: [] };
  }
  sandbox.writeNetFiles(pod);
  const base = sandbox.freshContainerDir(c.name);
  const mounts = sandbox.mountsFor(pod, c.spec);
  hostEntries ??= hostRootEntries();
  const script = launchScript({
    rootDir: join(base, 'root'),
    ...(image.rootfs
      ? { image: { lower: image.rootfs, upper: join(base, 'upper'), work: join(base, 'work') } }
      : { host: { etcUpper: join(base, 'upper'), etcWork: join(base, 'work'), extraRoots: image.extraRoots ?? [], entries: hostEntries } }),
    hostsFile: sandbox.netFile('hosts'),
    resolvFile: sandbox.netFile('resolv.conf'),
    hostnameFile: sandbox.netFile('hostname'),
    hostname: podHostname(pod),
    mounts,
    readOnlyRoot: plan.security.readOnlyRoot,
    setpriv,
    workingDir: plan.workingDir,
    argv: plan.argv,
  });
  const { file, args } = launchArgv(script, sandbox.netnsPath());
  return { file, args, env: plan.env, plan, setpriv };
}
