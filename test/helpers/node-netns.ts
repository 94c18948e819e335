// The node network namespace and bridge that `pgtls up` makes (src/local/net),
// for tests and benches of the node agent's per-pod namespaces: made here when
// the checkout's `up` does not make it (yet), and removed again by the
// returned function. Uses the topology's names, so it is the same network.
import { existsSync } from 'node:fs';
import { BRIDGE, NODE_IP, POD_PREFIX, nodeNetnsName } from '../../src/local/net/topology.ts';
import { run, runOk } from './exec.ts';

export async function ensureNodeNamespace(apiserverPort: number): Promise<() => Promise<void>> {
  const ns = nodeNetnsName(apiserverPort);
  if (existsSync(`/run/netns/${ns}`)) return async () => {};
  await runOk('ip', ['netns', 'add', ns]);
  await runOk('ip', ['-n', ns, '-batch', '-'], { input: `link set lo up\nlink add ${BRIDGE} type bridge\naddr add ${NODE_IP}/${POD_PREFIX} dev ${BRIDGE}\nlink set ${BRIDGE} up\n` });
  return async () => {
    await run('ip', ['netns', 'delete', ns]);
  };
}

/** Why per-pod network namespaces cannot be tested here, or undefined when they can. */
export function podNetnsUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network and mount namespaces)';
  const missing = ['/usr/sbin/ip', '/usr/bin/socat', '/usr/bin/nsenter'].filter((f) => !existsSync(f));
  return missing.length > 0 ? `needs ${missing.join(', ')}` : undefined;
}
