// The downward API: pod fields as env values and volume files, as the
// kubelet resolves them. Pure.
import type { V1Pod } from '@kubernetes/client-node';

export interface PodFacts {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

export class FieldError extends Error {}

/** A fieldRef's value; `metadata.labels`/`metadata.annotations` without a key (volumes only) give every entry as key="value" lines. */
export function fieldValue(pod: V1Pod, path: string, facts: PodFacts): string {
  const md = pod.metadata ?? {};
  const m = /^metadata\.(labels|annotations)(?:\['(.+)'\])?$/.exec(path);
  if (m) {
    const map = (m[1] === 'labels' ? md.labels : md.annotations) ?? {};
    return m[2] !== undefined ? (map[m[2]] ?? '') : Object.entries(map).map(([k, v]) => `${k}="${v}"`).join('\n');
  }
  switch (path) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? facts.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
    default:
      throw new FieldError(`unsupported fieldRef ${path}`);
  }
}
