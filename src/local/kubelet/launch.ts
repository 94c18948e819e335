// Starts a component inside the node's namespaces: `nsenter` enters them and
// execs the binary, so the pid file holds the binary's own pid and /proc shows
// its path, exactly as the supervisor expects of every component.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import type { Component } from '../controlplane/component.ts';
import { ComponentError, logFile, pidFile, type SupervisorDirs } from '../controlplane/supervisor.ts';

/** nsenter's argv for a component (pure). */
export function nsenterArgs(c: Component): string[] {
  const ns = c.namespaces ?? {};
  return [...(ns.net ? [`--net=${ns.net}`] : []), ...(ns.mount ? [`--mount=${ns.mount}`] : []), '--', c.binary, ...c.args];
}

export function startInNamespaces(dirs: SupervisorDirs, c: Component): number {
  if (!existsSync(c.binary)) throw new ComponentError(`${c.name}: binary ${c.binary} is missing; build it with \`node scripts/setup.mjs --kubelet-runtime\``);
  for (const f of [c.namespaces?.net, c.namespaces?.mount]) {
    if (f && !existsSync(f)) throw new ComponentError(`${c.name}: namespace ${f} does not exist (pgtls up creates it)`);
  }
  mkdirSync(dirs.pids, { recursive: true });
  mkdirSync(dirs.logs, { recursive: true });
  const fd = openSync(logFile(dirs, c.name), 'a', 0o600);
  try {
    const child = spawn('nsenter', nsenterArgs(c), {
      detached: true,
      stdio: ['ignore', fd, fd],
      // iptables and the CNI plugins are found on PATH by kube-proxy and containerd.
      env: { PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '/', ...c.env },
    });
    if (child.pid === undefined) throw new ComponentError(`${c.name}: spawn of nsenter failed`);
    child.unref();
    writeFileSync(pidFile(dirs, c.name), `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}
