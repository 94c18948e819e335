// The kubelet runtime's configuration files, as pure functions of the layout:
// containerd, CNI, kubelet, kube-proxy, crictl and the API server's egress
// selector. Nothing here touches the machine.
import { stringify } from 'yaml';
import type { KubeletNodeLayout } from './layout.ts';
import { BRIDGE, NODE_IP, POD_CIDR, SERVICE_CIDR } from '../net/topology.ts';

export const KUBELET_PORT = 10250;
/** Inside the node namespace only, on its loopback. */
export const KUBELET_HEALTHZ_PORT = 10248;
export const KUBE_PROXY_HEALTHZ_PORT = 10256;
export const CLUSTER_DNS_IP = '10.96.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
export const PAUSE_IMAGE_REPO = 'pgtls.local/pause';
export const CNI_NETWORK = 'pgtls';
/** Debian's containernetworking-plugins. */
export const CNI_BIN_DIR = '/usr/lib/cni';

export interface NodeSettings {
  nodeName: string;
  pauseVersion: string;
  /** Absolute cgroup path (same in every hierarchy) the kubelet puts kubepods under. */
  cgroupRoot: string;
  clientCaFile: string;
  servingCert: string;
  servingKey: string;
}

const q = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes for paths

export function containerdConfig(l: KubeletNodeLayout, s: Pick<NodeSettings, 'pauseVersion'>): string {
  return `# Written by pgtls up --runtime kubelet; containerd ${'1.6'} (Debian), config format 2.
version = 2
root = ${q(l.containerdRoot)}
state = ${q(l.containerdState)}
oom_score = 0

[grpc]
  address = ${q(l.containerdSock)}

[ttrpc]
  address = ${q(`${l.containerdSock}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(`${PAUSE_IMAGE_REPO}:${s.pauseVersion}`)}
  # No CAP_SYS_RESOURCE here: never ask for an oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  # The streaming server (exec, attach, port-forward) stays on the namespace's loopback.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${q(l.runcRoot)}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(CNI_BIN_DIR)}
    conf_dir = ${q(l.cniConfDir)}
    max_conf_num = 1
`;
}

/** bridge + host-local on POD_CIDR, with the node address as the pods' gateway. */
export function cniConfList(l: KubeletNodeLayout): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: CNI_NETWORK,
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: l.cniIpamDir,
            ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(l: KubeletNodeLayout, s: NodeSettings): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_IP,
    port: KUBELET_PORT,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: KUBELET_HEALTHZ_PORT,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: s.clientCaFile } },
    authorization: { mode: 'Webhook' },
    tlsCertFile: s.servingCert,
    tlsPrivateKeyFile: s.servingKey,
    // PID 1 is not systemd on the machines pgtls targets; containerd 1.6 cannot tell the kubelet its driver.
    cgroupDriver: 'cgroupfs',
    cgroupRoot: s.cgroupRoot,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ['pods'],
    failSwapOn: false,
    // Kubernetes 1.34 still runs on cgroup v1 when told so.
    failCgroupV1: false,
    // The host-global sysctls it checks are bind-mounted with the values it wants (see mounts.ts).
    protectKernelDefaults: false,
    // Lowering an OOM score needs CAP_SYS_RESOURCE.
    oomScoreAdj: 0,
    clusterDNS: [CLUSTER_DNS_IP],
    clusterDomain: CLUSTER_DOMAIN,
    // Pods never see the host's resolver.
    resolvConf: '',
    staticPodPath: l.staticPods,
    podLogsDir: l.podLogs,
    containerRuntimeEndpoint: `unix://${l.containerdSock}`,
    imageServiceEndpoint: `unix://${l.containerdSock}`,
    serializeImagePulls: false,
    // Images are imported, never pulled back: no image GC, and eviction only when the disk is really full.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    registerNode: true,
  });
}

export function kubeProxyConfig(kubeconfig: string, nodeName: string): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    mode: 'iptables',
    hostnameOverride: nodeName,
    bindAddress: NODE_IP,
    healthzBindAddress: `127.0.0.1:${KUBE_PROXY_HEALTHZ_PORT}`,
    metricsBindAddress: '127.0.0.1:10249',
    clusterCIDR: POD_CIDR,
    // nf_conntrack_max and the conntrack timeouts are host-global: leave them alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    oomScoreAdj: 0,
    iptables: { localhostNodePorts: false },
    nodePortAddresses: ['primary'],
  });
}

export function crictlConfig(l: KubeletNodeLayout): string {
  return stringify({ 'runtime-endpoint': `unix://${l.containerdSock}`, 'image-endpoint': `unix://${l.containerdSock}`, timeout: 10 });
}

/** Routes the node namespace needs beyond the bridge's own /16: locally generated packets to a ClusterIP need one before kube-proxy's OUTPUT DNAT. */
export const NODE_ROUTES = [{ dst: SERVICE_CIDR, dev: BRIDGE, src: NODE_IP }];
