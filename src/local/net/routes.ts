// What the gateway serves, computed from Services, Pods and EndpointSlices:
// the Service listeners inside the node namespace with their endpoints, and
// the loopback mirrors on the host. Pure: the gateway only opens and closes
// what these functions list.
import type { V1EndpointSlice, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { inClusterNetwork, isLoopbackIp } from './addresses.ts';
import { hostMirror, inPodCidr, inServiceCidr, NODE_IP, type AddressPlan } from './topology.ts';

export interface Endpoint {
  host: string;
  port: number;
}

/** A listener inside the node namespace and where its connections go. */
export interface ServiceListener {
  key: string;
  ip: string;
  port: number;
  /** ns/name:port, for logs. */
  name: string;
  endpoints: Endpoint[];
}

/** A loopback listener on the host and the address it reaches inside the node namespace. */
export interface Mirror {
  key: string;
  bind: string;
  port: number;
  target: Endpoint;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function podReady(p: V1Pod): boolean {
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

const podRunning = (p: V1Pod) => !['Succeeded', 'Failed'].includes(p.status?.phase ?? '');

export function selects(svc: V1Service, pod: V1Pod): boolean {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return false;
  if (pod.metadata?.namespace !== svc.metadata?.namespace) return false;
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** A Service port's target on a pod: a number, or a named container port. */
export function targetPort(sp: V1ServicePort, pod: V1Pod): number | undefined {
  const t = sp.targetPort ?? sp.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(String(t))) return Number(t);
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === t && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')) return p.containerPort;
  return undefined;
}

const tcp = (p: { protocol?: string }) => (p.protocol ?? 'TCP') === 'TCP';
const clusterIpOf = (svc: V1Service) => {
  const ip = svc.spec?.clusterIP;
  return ip && ip !== 'None' && inServiceCidr(ip) ? ip : undefined;
};

/** A pod address the gateway may dial: the pod network (inside the namespace) or a loopback pod of today's agent (on the host). */
const dialablePodIp = (ip: string | undefined): ip is string => !!ip && (inPodCidr(ip) || isLoopbackIp(ip));

function selectorEndpoints(svc: V1Service, sp: V1ServicePort, pods: V1Pod[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    if (!dialablePodIp(ip) || !selects(svc, pod) || !podRunning(pod) || pod.metadata?.deletionTimestamp) continue;
    if (!svc.spec?.publishNotReadyAddresses && !podReady(pod)) continue;
    const port = targetPort(sp, pod);
    if (port !== undefined) out.push({ host: ip, port });
  }
  return out.sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port);
}

/** Endpoints of a Service without selector: its EndpointSlices (only addresses inside the cluster network). */
function sliceEndpoints(svc: V1Service, sp: V1ServicePort, slices: V1EndpointSlice[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (const s of slices) {
    if (s.metadata?.namespace !== svc.metadata?.namespace || s.metadata?.labels?.[SERVICE_NAME_LABEL] !== svc.metadata?.name) continue;
    if (s.addressType !== 'IPv4') continue;
    const port = (s.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '') && tcp(p))?.port;
    if (port === undefined || port === null) continue;
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false && !svc.spec?.publishNotReadyAddresses) continue;
      const ip = e.addresses?.[0];
      if (ip && inClusterNetwork(ip)) out.push({ host: ip, port });
    }
  }
  return out.sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port);
}

export interface ClusterState {
  services: V1Service[];
  pods: V1Pod[];
  slices: V1EndpointSlice[];
}

/**
 * Service listeners (with the proxy on) and the API server's forwards inside
 * the namespace (always): at the node address, and at the namespace's own
 * 127.0.0.1 with the host's port, so a kubelet or kube-proxy inside the
 * namespace uses the very kubeconfig a host process uses.
 */
export function serviceListeners(state: ClusterState, apiserver: Endpoint, serviceProxy: boolean): ServiceListener[] {
  const out: ServiceListener[] = [
    { key: `node:${NODE_IP}:${apiserver.port}`, ip: NODE_IP, port: apiserver.port, name: 'kube-apiserver (node address)', endpoints: [apiserver] },
    { key: `node:127.0.0.1:${apiserver.port}`, ip: '127.0.0.1', port: apiserver.port, name: "kube-apiserver (the namespace's loopback)", endpoints: [apiserver] },
  ];
  if (!serviceProxy) return out;
  for (const svc of state.services) {
    const ip = clusterIpOf(svc);
    if (!ip) continue;
    const ns = svc.metadata!.namespace!;
    const name = svc.metadata!.name!;
    // The API server advertises no endpoints (its address is loopback): the gateway is its endpoint.
    const isKubernetes = ns === 'default' && name === 'kubernetes';
    for (const sp of svc.spec?.ports ?? []) {
      if (!tcp(sp)) continue;
      const endpoints = isKubernetes ? [apiserver] : svc.spec?.selector ? selectorEndpoints(svc, sp, state.pods) : sliceEndpoints(svc, sp, state.slices);
      out.push({ key: `svc:${ip}:${sp.port}`, ip, port: sp.port, name: `${ns}/${name}:${sp.port}`, endpoints });
    }
  }
  return out;
}

/** Mirrors of every declared pod port and every Service port, plus those asked for on demand. */
export function mirrors(state: Pick<ClusterState, 'services' | 'pods'>, plan: AddressPlan, extra: Endpoint[] = []): Mirror[] {
  const out = new Map<string, Mirror>();
  const add = (ip: string, port: number) => {
    const bind = hostMirror(ip, plan);
    if (!bind) return;
    const key = `${bind}:${port}`;
    if (!out.has(key)) out.set(key, { key, bind, port, target: { host: ip, port } });
  };
  for (const pod of state.pods) {
    const ip = pod.status?.podIP;
    if (!ip || !inPodCidr(ip) || !podRunning(pod)) continue;
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) for (const p of c.ports ?? []) if (tcp(p)) add(ip, p.containerPort);
  }
  for (const svc of state.services) {
    const ip = clusterIpOf(svc);
    if (ip) for (const sp of svc.spec?.ports ?? []) if (tcp(sp)) add(ip, sp.port);
  }
  for (const e of extra) if (inClusterNetwork(e.host)) add(e.host, e.port);
  return [...out.values()];
}
