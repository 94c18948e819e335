// The one way the operator and the tests reach a Service or a pod of the
// local cluster: Services are served on a loopback address derived from their
// ClusterIP (the node publishes the network in an annotation), pods on their
// loopback pod IP. Anything that is not loopback is refused, never dialled.
import type { V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { k8s, type Kube } from '../../kube/client.ts';
import { SERVICE_NETWORK_ANNOTATION } from './node-object.ts';
import { isLoopback, parseNetwork, podReady, serviceVip, targetPort } from './network.ts';

export interface LocalTarget {
  namespace: string;
  service?: string;
  pod?: string;
  port: number;
}

export class NotReachableError extends Error {}

async function serviceOctet(kube: Kube): Promise<number> {
  const nodes = await kube.api(k8s.CoreV1Api).listNode({ labelSelector: 'pgtls.dev/node-agent=true' });
  const ann = nodes.items.map((n: V1Node) => n.metadata?.annotations?.[SERVICE_NETWORK_ANNOTATION]).find(Boolean);
  if (!ann) throw new NotReachableError('no pgtls node agent has registered a service network');
  return parseNetwork(ann);
}

export async function localAddress(kube: Kube, t: LocalTarget): Promise<{ host: string; port: number }> {
  const core = kube.api(k8s.CoreV1Api);
  let out: { host: string; port: number } | undefined;
  if (t.pod) {
    const pod: V1Pod = await core.readNamespacedPod({ name: t.pod, namespace: t.namespace });
    if (!pod.status?.podIP) throw new NotReachableError(`pod ${t.namespace}/${t.pod} has no IP yet`);
    out = { host: pod.status.podIP, port: t.port };
  } else if (t.service) {
    const svc: V1Service = await core.readNamespacedService({ name: t.service, namespace: t.namespace });
    const sp = (svc.spec?.ports ?? []).find((p) => p.port === t.port);
    if (!sp) throw new NotReachableError(`service ${t.namespace}/${t.service} has no port ${t.port}`);
    const vip = serviceVip(svc.spec?.clusterIP, await serviceOctet(kube));
    if (vip) out = { host: vip, port: t.port };
    else {
      // Headless: like DNS, answer with a ready pod behind it.
      const sel = Object.entries(svc.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      const pods = (await core.listNamespacedPod({ namespace: t.namespace, labelSelector: sel })).items.filter((p) => podReady(p) && p.status?.podIP);
      const pod = pods[0];
      const port = pod ? targetPort(sp, pod) : undefined;
      if (!pod || port === undefined) throw new NotReachableError(`headless service ${t.namespace}/${t.service} has no ready pod`);
      out = { host: pod.status!.podIP!, port };
    }
  } else throw new Error('localAddress needs a service or a pod');
  if (!isLoopback(out.host)) throw new NotReachableError(`refusing non-loopback address ${out.host}`);
  return out;
}
