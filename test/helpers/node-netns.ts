// Whether this host can run the node agent's pods in their own network
// namespaces (`pgtls up` then makes the node namespace, src/local/net).
import { existsSync } from 'node:fs';
import { netnsUnsupportedReason } from '../../src/local/net/netns.ts';

/** Why per-pod network namespaces cannot be used here, or undefined when they can. */
export function podNetnsUnsupported(): string | undefined {
  const why = netnsUnsupportedReason();
  if (why) return why;
  // The agent's probes and port-forward connect from inside a pod's namespace with socat.
  return existsSync('/usr/bin/socat') ? undefined : '`socat` is missing (Debian: apt-get install socat)';
}
