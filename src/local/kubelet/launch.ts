// The kubelet runtime's node processes run inside the node's namespaces:
// `nsenter` enters them and execs the binary, so the pid file holds the
// binary's own pid and /proc shows its path, as the supervisor expects of every
// component. The launch itself is the supervisor's (launchCommand), so a
// restart enters the same namespaces; this names nsenter's argv for the tests.
import type { Component } from '../controlplane/component.ts';
import { launchCommand } from '../controlplane/supervisor.ts';

/** nsenter's argv for a component (pure). */
export function nsenterArgs(c: Component): string[] {
  return launchCommand(c).args;
}
