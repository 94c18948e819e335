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

export const KUBELET_COMPONENTS = ['host-gateway', 'node-gateway', 'containerd', 'kubelet', 'kube-proxy'] as const;

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
  /** The node identity (system:node:<name>); its server URL is 127.0.0.1:<port>, served inside the namespace by the node gateway. */
  kubeletKubeconfig: string;
  kubeProxyKubeconfig: string;
  /** For the host gateway's Service mirrors. */
  mirrorKubeconfig: string;
  /** The local-path provisioner (run by the host gateway): its identity and where volumes live. */
  provisioner?: { kubeconfig: string; volumesDir: string };
}

function gatewayArgs(mode: 'node' | 'host', i: KubeletRuntimeInputs, extra: string[]): string[] {
  return [
    // tsx's loader by absolute URL: the process may start in any directory.
    '--import',
    import.meta.resolve('tsx'),
    join(repoRoot(), 'src', 'local', 'kubelet', 'gateway-main.ts'),
    mode,
    `--api-sock=${i.node.apiSock}`,
    `--egress-sock=${i.node.egressSock}`,
    `--api-port=${i.cfg.ports.apiserver}`,
    ...extra,
  ];
}

export function buildKubeletRuntime(i: KubeletRuntimeInputs): Component[] {
  const inNode = { net: netnsPath(i.node.netns), mount: i.node.mountNs };
  return [
    {
      name: 'host-gateway',
      binary: process.execPath,
      links: ['kube-apiserver'],
      ports: [],
      args: gatewayArgs('host', i, [
        `--kubeconfig=${i.mirrorKubeconfig}`,
        `--node-name=${i.nodeName}`,
        ...(i.provisioner ? [`--provisioner-kubeconfig=${i.provisioner.kubeconfig}`, `--volumes-dir=${i.provisioner.volumesDir}`] : []),
      ]),
    },
    {
      name: 'node-gateway',
      binary: process.execPath,
      links: ['host-gateway'],
      ports: [],
      args: gatewayArgs('node', i, []),
      namespaces: { net: netnsPath(i.node.netns) },
    },
    { name: 'containerd', binary: DEBIAN_TOOLS.containerd, links: ['node-gateway'], ports: [], args: ['--config', i.node.containerdConfig], namespaces: inNode },
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
 * reaches nodes only by their InternalIP through the egress selector (never
 * the host's resolver, never a route the host lacks) and advertises the node
 * address for the `kubernetes` Service; the controller manager keeps its
 * EndpointSlice controllers (pod IPs are real here); the operator follows the kubelet.
 */
export function adaptControlPlane(components: Component[], node: KubeletNodeLayout): Component[] {
  return components.map((c) => {
    if (c.name === 'kube-apiserver') {
      const args = c.args.filter((a) => !a.startsWith('--endpoint-reconciler-type=') && !a.startsWith('--advertise-address='));
      return {
        ...c,
        args: [
          ...args,
          `--advertise-address=${NODE_IP}`,
          '--endpoint-reconciler-type=lease',
          '--kubelet-preferred-address-types=InternalIP',
          `--egress-selector-config-file=${node.egressSelectorConfig}`,
        ],
      };
    }
    if (c.name === 'kube-controller-manager') {
      return { ...c, args: c.args.map((a) => (a.startsWith('--controllers=') ? '--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle' : a)) };
    }
    return { ...c, links: c.links.map((l) => (l === 'node-agent' ? 'kubelet' : l)) };
  });
}
