// The one way tests, host-side tools and an operator run as a host process
// reach a Service or a pod of the local cluster: the loopback mirror the
// gateway serves for it (127.P.a.b for pod 10.244.a.b, 127.S.c.d for
// ClusterIP 10.96.c.d; P and S follow from the API server's port). Pods of
// today's agent that still have loopback IPs are answered as they are. The
// answer is always loopback; anything else is refused, never dialled.
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { type Kube } from '../../kube/client.ts';
import { k8s } from '../../kube/client-node.ts';
import { isLoopbackIp, mirrorPlanForServer } from './addresses.ts';
import { podReady, targetPort } from './routes.ts';
import { hostMirror, inPodCidr, type AddressPlan } from './topology.ts';

export interface LocalTarget {
  namespace: string;
  service?: string;
  pod?: string;
  port: number;
}

export class NotReachableError extends Error {}

function planOf(kube: Kube): AddressPlan {
  const server = kube.kc.getCurrentCluster()?.server ?? '';
  const plan = mirrorPlanForServer(server);
  if (!plan) throw new NotReachableError(`localAddress serves clients of a local pgtls cluster (API server on loopback), not ${server}`);
  return plan;
}

/** Every TCP port a pod's containers declare: the ports the gateway mirrors. */
const declaredPorts = (pod: V1Pod) =>
  [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].flatMap((c) => (c.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort));

function podAddress(pod: V1Pod, port: number, plan: AddressPlan): { host: string; port: number } {
  const ip = pod.status?.podIP;
  const name = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  if (!ip) throw new NotReachableError(`pod ${name} has no IP yet`);
  if (isLoopbackIp(ip)) return { host: ip, port };
  if (!inPodCidr(ip)) throw new NotReachableError(`pod ${name} has IP ${ip}, outside the pod network; refusing to dial it`);
  if (!declaredPorts(pod).includes(port)) {
    throw new NotReachableError(`pod ${name} declares no container port ${port} (declared: ${declaredPorts(pod).join(', ') || 'none'}); the gateway mirrors declared ports only`);
  }
  return { host: hostMirror(ip, plan)!, port };
}

export async function localAddress(kube: Kube, t: LocalTarget): Promise<{ host: string; port: number }> {
  const core = kube.api(k8s.CoreV1Api);
  const plan = planOf(kube);
  let out: { host: string; port: number };
  if (t.pod) {
    const pod: V1Pod = await core.readNamespacedPod({ name: t.pod, namespace: t.namespace });
    out = podAddress(pod, t.port, plan);
  } else if (t.service) {
    const svc: V1Service = await core.readNamespacedService({ name: t.service, namespace: t.namespace });
    const sp = (svc.spec?.ports ?? []).find((p) => p.port === t.port);
    if (!sp) throw new NotReachableError(`service ${t.namespace}/${t.service} has no port ${t.port}`);
    const clusterIP = svc.spec?.clusterIP;
    const mirror = clusterIP && clusterIP !== 'None' ? hostMirror(clusterIP, plan) : undefined;
    if (mirror) out = { host: mirror, port: t.port };
    else if (clusterIP && clusterIP !== 'None') throw new NotReachableError(`service ${t.namespace}/${t.service} has ClusterIP ${clusterIP}, outside the Service network`);
    else {
      // Headless: like DNS, answer with a ready pod behind it.
      const sel = Object.entries(svc.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      const pods = (await core.listNamespacedPod({ namespace: t.namespace, labelSelector: sel })).items.filter((p) => podReady(p) && p.status?.podIP);
      const pod = pods[0];
      const port = pod ? targetPort(sp, pod) : undefined;
      if (!pod || port === undefined) throw new NotReachableError(`headless service ${t.namespace}/${t.service} has no ready pod`);
      out = podAddress(pod, port, plan);
    }
  } else throw new Error('localAddress needs a service or a pod');
  if (!isLoopbackIp(out.host)) throw new NotReachableError(`refusing non-loopback address ${out.host}`);
  return out;
}
