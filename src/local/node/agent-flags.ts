// The node agent's settings as `pgtls up` passes them: taken from the
// environment of `pgtls up` (and of test runs), so a cluster can be brought up
// with a strict node, pods in network namespaces, or a kubelet-paced Secret
// sync without new `up` options.
//   PGTLS_NODE_STRICT=1                  --strict
//   PGTLS_NODE_POD_NETWORK=loopback      --pod-network-mode=loopback (default auto: netns when up made the node namespace)
//   PGTLS_NODE_SECRET_SYNC_DELAY=60      --secret-sync-delay=60 (seconds)
//   PGTLS_IMAGES_DIR, XDG_CACHE_HOME     --images-dir (the image store `pgtls images` uses)
//   PGTLS_DEBIAN_MIRROR                  --debian-mirror (images built on first use)
import { imagesRoot } from '../../images/store.ts';

export function agentFlagsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const flags: string[] = [];
  // The agent gets a clean environment (PATH, HOME): the store `pgtls images` sees is passed on.
  if (env.PGTLS_IMAGES_DIR || env.XDG_CACHE_HOME) flags.push(`--images-dir=${imagesRoot(env)}`);
  if (env.PGTLS_DEBIAN_MIRROR) flags.push(`--debian-mirror=${env.PGTLS_DEBIAN_MIRROR}`);
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
