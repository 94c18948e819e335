// The Node object and its Lease, as a kubelet writes them. Only InternalIP
// 127.0.0.1 is published: the API server picks the first address type it
// prefers, and a Hostname address would make it resolve the node name.
import { cpus, totalmem, release, hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { V1Node } from '@kubernetes/client-node';

export const AGENT_VERSION = '0.1.0';
export const POD_NETWORK_ANNOTATION = 'pgtls.dev/pod-network';
export const SERVICE_NETWORK_ANNOTATION = 'pgtls.dev/service-network';

export interface NodeFacts {
  name: string;
  kubeletPort: number;
  kubernetesVersion: string;
  podNetwork: string;
  serviceNetwork: string;
  maxPods: number;
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return fallback; // facts a host may lack (machine-id, product_uuid): reported as unknown
  }
}

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readOr('/etc/os-release', ''));
  return m?.[1] ?? 'Linux';
}

export function nodeLabels(name: string): Record<string, string> {
  return {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
    'node.kubernetes.io/instance-type': 'pgtls-local',
    'pgtls.dev/node-agent': 'true',
  };
}

export function nodeStatus(f: NodeFacts, now = new Date()): NonNullable<V1Node['status']> {
  const memKi = `${Math.floor(totalmem() / 1024)}Ki`;
  const resources = { cpu: String(cpus().length), memory: memKi, pods: String(f.maxPods), 'ephemeral-storage': '100Gi' };
  const ts = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: ts,
    lastTransitionTime: ts,
  });
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'pgtls node agent has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'pgtls node agent has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'pgtls node agent has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'pgtls node agent is posting ready status'),
    ] as never,
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    daemonEndpoints: { kubeletEndpoint: { Port: f.kubeletPort } },
    nodeInfo: {
      machineID: readOr('/etc/machine-id', 'unknown'),
      systemUUID: readOr('/sys/class/dmi/id/product_uuid', readOr('/etc/machine-id', 'unknown')),
      bootID: readOr('/proc/sys/kernel/random/boot_id', 'unknown'),
      kernelVersion: release(),
      osImage: osImage(),
      containerRuntimeVersion: `pgtls-process://${AGENT_VERSION}`,
      kubeletVersion: `v${f.kubernetesVersion}`,
      kubeProxyVersion: `v${f.kubernetesVersion}`,
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
}

export function nodeObject(f: NodeFacts): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: f.name,
      labels: nodeLabels(f.name),
      annotations: {
        [POD_NETWORK_ANNOTATION]: f.podNetwork,
        [SERVICE_NETWORK_ANNOTATION]: f.serviceNetwork,
        'pgtls.dev/host': hostname(),
      },
    },
    spec: {},
  };
}

/** MicroTime, as coordination.k8s.io wants it. */
export const microTime = (d = new Date()) => d.toISOString().replace(/Z$/, '000Z');

export function leaseObject(nodeName: string, nodeUid: string, durationSeconds: number, now = new Date()) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: 'kube-node-lease',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }],
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: microTime(now) },
  };
}
