// Where the kubelet runtime keeps its state: one directory under the pgtls
// home, so `down --purge` removes it with the rest and nothing lands in /var,
// /run or /etc of the host.
import { join } from 'node:path';
import type { HomeLayout } from '../home.ts';
import type { ClusterConfig } from '../controlplane/config.ts';
import { nodeNetnsName } from '../net/topology.ts';

export interface KubeletNodeLayout {
  base: string;
  /** Sockets and the mount-namespace handle (a unix socket path must stay under 108 bytes). */
  run: string;
  containerdSock: string;
  /** bind-mounted handle of the node's private mount namespace (`unshare --mount=<file>`). */
  mountNs: string;
  netns: string;
  etc: string;
  containerdConfig: string;
  kubeletConfig: string;
  kubeProxyConfig: string;
  crictlConfig: string;
  containerdRoot: string;
  containerdState: string;
  runcRoot: string;
  kubeletRoot: string;
  podLogs: string;
  staticPods: string;
  cniConfDir: string;
  cniIpamDir: string;
  /** upper/work dirs of the overlays that keep /var/lib and /var/log writes inside the namespace. */
  overlays: string;
  /** Files bind-mounted over the host-global sysctls the kubelet checks. */
  sysctls: string;
  /** What `up` created on the host (cgroup directories) so `down` removes exactly that. */
  hostState: string;
  /** OCI archives dropped here (e.g. by `pgtls images export --oci-archive`) are imported on every `up`, under the name each carries. */
  imageDrop: string;
}

export function kubeletNodeLayout(home: HomeLayout, cfg: Pick<ClusterConfig, 'ports'>): KubeletNodeLayout {
  const base = join(home.data, 'kubelet-node');
  const run = join(base, 'run');
  const etc = join(base, 'etc');
  return {
    base,
    run,
    containerdSock: join(run, 'containerd.sock'),
    mountNs: join(run, 'mntns'),
    netns: nodeNetnsName(cfg.ports.apiserver),
    etc,
    containerdConfig: join(etc, 'containerd.toml'),
    kubeletConfig: join(etc, 'kubelet.yaml'),
    kubeProxyConfig: join(etc, 'kube-proxy.yaml'),
    crictlConfig: join(etc, 'crictl.yaml'),
    containerdRoot: join(base, 'containerd', 'root'),
    containerdState: join(base, 'containerd', 'state'),
    runcRoot: join(run, 'runc'),
    kubeletRoot: join(base, 'kubelet'),
    podLogs: join(base, 'pod-logs'),
    staticPods: join(etc, 'manifests'),
    cniConfDir: join(etc, 'cni'),
    cniIpamDir: join(base, 'cni-ipam'),
    overlays: join(base, 'overlays'),
    sysctls: join(base, 'sysctls'),
    hostState: join(base, 'host-state.json'),
    imageDrop: join(base, 'images'),
  };
}

/** The path of a network namespace made with `ip netns add`. */
export const netnsPath = (name: string) => `/run/netns/${name}`;
