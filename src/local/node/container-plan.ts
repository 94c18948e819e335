// How one container starts, decided before any process exists: its argv
// (command overrides the image's Entrypoint, args override its Cmd), its
// environment (the image's Env, then the kubelet's variables; PATH from the
// image), its user and groups, working directory and security attributes.
// Pure apart from reading the image's files through `fs`.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { commandLine } from './env.ts';
import { imageEnv, type NodeImage } from './image-service.ts';
import { findExecutable, realFs, type RootFs } from './root-paths.ts';
import { processSecurity, type ProcessSecurity } from './security.ts';
import { resolveRunAs, UserError, type RunAs, type UserDb } from './users.ts';

/** containerd's PATH when the image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type StartFailureReason = 'CreateContainerConfigError' | 'CreateContainerError' | 'StartError';

/** The container cannot start; `reason` is what the kubelet would report. */
export class ContainerStartError extends Error {
  constructor(
    readonly reason: StartFailureReason,
    message: string,
  ) {
    super(message);
  }
}

export interface ContainerPlan {
  argv: string[];
  env: Record<string, string>;
  runAs: RunAs;
  workingDir: string;
  security: ProcessSecurity;
}

export interface PlanInputs {
  pod: V1Pod;
  container: V1Container;
  image: NodeImage;
  /** The kubelet's variables for this container (service links, envFrom, env), already expanded. */
  vars: Record<string, string>;
  users: UserDb;
  hostname: string;
  /** The image's root as seen from the host ("/" for a host-binary image). */
  root: string;
  fs?: RootFs;
}

export function planContainer(i: PlanInputs): ContainerPlan {
  const c = i.container;
  let runAs: RunAs;
  try {
    runAs = resolveRunAs(i.pod, c, i.image.config.User, i.users);
  } catch (err) {
    if (err instanceof UserError) throw new ContainerStartError('CreateContainerConfigError', err.message);
    throw err;
  }
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...imageEnv(i.image.config), HOSTNAME: i.hostname, ...i.vars };
  env.HOME ??= runAs.home;
  if (c.tty) env.TERM ??= 'xterm';
  const argv = commandLine(c, { entrypoint: i.image.config.Entrypoint, cmd: i.image.config.Cmd }, i.vars);
  if (!argv) throw new ContainerStartError('CreateContainerError', `failed to generate container spec: image ${c.image} has no command (Entrypoint/Cmd); set command`);
  // Bare names are checked up front, so a missing program is the runtime's
  // StartError rather than a shell's exit 127. Paths may live on volumes.
  if (!argv[0]!.includes('/') && !findExecutable(i.root, argv[0]!, env.PATH!, i.fs ?? realFs)) {
    throw new ContainerStartError('StartError', `exec: "${argv[0]}": executable file not found in $PATH (${env.PATH})`);
  }
  return { argv, env, runAs, workingDir: c.workingDir || i.image.config.WorkingDir || '/', security: processSecurity(c) };
}
