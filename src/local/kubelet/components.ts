// The kubelet runtime's processes as Component records (pure): the two
// gateways, containerd, the kubelet and kube-proxy. They replace the node agent
// in the list `up` starts; the ones with `namespaces` run inside the node's
// namespaces (launch.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from '../controlplane/component.ts';
import type { ClusterConfig } from '../controlplane/config.ts';
import { binaryCache } from '../home.ts';
import { repoRoot } from '../../util/repo.ts';
import { NODE_IP } from '../net/topology.ts';
import type { KubeletNodeLayout } from './layout.ts';
import { netnsPath } from './layout.ts';

export const KUBELET_COMPONENTS = ['local-path-provisioner', 'containerd', 'kubelet', 'kube-proxy'] as const;

export interface KubeletRuntimeVersions {
  kubernetes: string;
  crictl: string;
  coredns: string;
  pause: string;
}

export function kubeletRuntimeVersions(): KubeletRuntimeVersions {
  const text = readFileSync(join(repoRoot(), 'go', 'versions.env'), 'utf8');
  const get = (k: string): string => {
    const m = new RegExp(`^${k}=(\\S+)`, 'm').exec(text);
    if (!m) throw new Error(`go/versions.env: ${k} is not set`);
    return m[1]!;
  };
  return { kubernetes: get('KUBERNETES_VERSION'), crictl: get('CRICTL_VERSION'), coredns: get('COREDNS_VERSION'), pause: get('PAUSE_VERSION') };
}

export interface KubeletRuntimeBinaries {
  kubelet: string;
  kubeProxy: string;
  crictl: string;
  coredns: string;
  pause: string;
}

export function kubeletRuntimeBinaries(v: KubeletRuntimeVersions, cache = binaryCache()): KubeletRuntimeBinaries {
  const at = (name: string, ver: string) => join(cache, `${name}-${ver}`, name);
  return {
    kubelet: at('kubelet', v.kubernetes),
    kubeProxy: at('kube-proxy', v.kubernetes),
    crictl: at('crictl', v.crictl),
    coredns: at('coredns', v.coredns),
    pause: at('pause', v.pause),
  };
}

/** Debian's binaries the runtime runs (packages containerd, runc, containernetworking-plugins, iptables, umoci). */
export const DEBIAN_TOOLS = {
  containerd: '/usr/bin/containerd',
  ctr: '/usr/bin/ctr',
  shim: '/usr/bin/containerd-shim-runc-v2',
  runc: '/usr/sbin/runc',
  cniBridge: '/usr/lib/cni/bridge',
  cniHostLocal: '/usr/lib/cni/host-local',
  iptables: '/usr/sbin/iptables',
  conntrack: '/usr/sbin/conntrack',
  umoci: '/usr/bin/umoci',
  busybox: '/bin/busybox',
} as const;

export interface KubeletRuntimeInputs {
  cfg: ClusterConfig;
  node: KubeletNodeLayout;
  bins: KubeletRuntimeBinaries;
  nodeName: string;
  /** The node identity (system:node:<name>); its server URL is 127.0.0.1:<port>, which the net gateway serves inside the namespace too. */
  kubeletKubeconfig: string;
  kubeProxyKubeconfig: string;
  /** The local-path provisioner: its identity and where volumes live. */
  provisioner: { kubeconfig: string; volumesDir: string };
}

export function buildKubeletRuntime(i: KubeletRuntimeInputs): Component[] {
  const inNode = { net: netnsPath(i.node.netns), mount: i.node.mountNs };
  return [
    {
      name: 'local-path-provisioner',
      binary: process.execPath,
      links: ['kube-apiserver'],
      ports: [],
      args: [
        // tsx's loader by absolute URL: the process may start in any directory.
        '--import',
        import.meta.resolve('tsx'),
        join(repoRoot(), 'src', 'local', 'kubelet', 'provisioner-main.ts'),
        `--kubeconfig=${i.provisioner.kubeconfig}`,
        `--volumes-dir=${i.provisioner.volumesDir}`,
      ],
    },
    { name: 'containerd', binary: DEBIAN_TOOLS.containerd, links: ['net-gateway'], ports: [], args: ['--config', i.node.containerdConfig], namespaces: inNode },
    {
      name: 'kubelet',
      binary: i.bins.kubelet,
      links: ['containerd'],
      ports: [],
      args: [
        `--config=${i.node.kubeletConfig}`,
        `--kubeconfig=${i.kubeletKubeconfig}`,
        `--root-dir=${i.node.kubeletRoot}`,
        `--hostname-override=${i.nodeName}`,
        `--node-ip=${NODE_IP}`,
        '--v=1',
      ],
      namespaces: inNode,
    },
    { name: 'kube-proxy', binary: i.bins.kubeProxy, links: ['kubelet'], ports: [], args: [`--config=${i.node.kubeProxyConfig}`, '--v=1'], namespaces: inNode },
  ];
}

/**
 * What the control plane changes for this runtime (pure): the API server
 * reaches nodes only by their InternalIP (through the net gateway's egress,
 * never the host's resolver) and advertises the node address for the
 * `kubernetes` Service; the net gateway leaves Services to kube-proxy; the
 * controller manager keeps its EndpointSlice controllers (pod IPs are real
 * here); the operator follows the kubelet.
 */
export function adaptControlPlane(components: Component[]): Component[] {
  return components.map((c) => {
    if (c.name === 'kube-apiserver') {
      const args = c.args.filter((a) => !a.startsWith('--endpoint-reconciler-type=') && !a.startsWith('--advertise-address='));
      return { ...c, args: [...args, `--advertise-address=${NODE_IP}`, '--endpoint-reconciler-type=lease', '--kubelet-preferred-address-types=InternalIP'] };
    }
    if (c.name === 'net-gateway') return c.args.includes('--no-service-proxy') ? c : { ...c, args: [...c.args, '--no-service-proxy'] };
    if (c.name === 'kube-controller-manager') {
      return { ...c, args: c.args.map((a) => (a.startsWith('--controllers=') ? '--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle' : a)) };
    }
    return { ...c, links: c.links.map((l) => (l === 'node-agent' ? 'kubelet' : l)) };
  });
}
