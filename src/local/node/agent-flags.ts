// The node agent's settings as `pgtls up` passes them: taken from the
// environment of `pgtls up` (and of test runs), so a cluster can be brought up
// with a strict node, pods in network namespaces, or a kubelet-paced Secret
// sync without new `up` options.
//   PGTLS_NODE_STRICT=1                  --strict
//   PGTLS_NODE_POD_NETWORK=loopback      --pod-network-mode=loopback (default auto: netns when up made the node namespace)
//   PGTLS_NODE_SECRET_SYNC_DELAY=60      --secret-sync-delay=60 (seconds)
export function agentFlagsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const flags: string[] = [];
  if (['1', 'true', 'yes'].includes((env.PGTLS_NODE_STRICT ?? '').toLowerCase())) flags.push('--strict');
  const mode = env.PGTLS_NODE_POD_NETWORK;
  if (mode) {
    if (!['auto', 'loopback', 'netns'].includes(mode)) throw new Error(`PGTLS_NODE_POD_NETWORK: must be auto, netns or loopback, not ${JSON.stringify(mode)}`);
    flags.push(`--pod-network-mode=${mode}`);
  }
  const delay = env.PGTLS_NODE_SECRET_SYNC_DELAY;
  if (delay) {
    if (!Number.isFinite(Number(delay)) || Number(delay) < 0) throw new Error(`PGTLS_NODE_SECRET_SYNC_DELAY: must be a number of seconds ≥ 0, not ${JSON.stringify(delay)}`);
    flags.push(`--secret-sync-delay=${Number(delay)}`);
  }
  return flags;
}
