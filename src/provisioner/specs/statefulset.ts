// The StatefulSet every kind uses: governed by `<db>-pods`, selected by the
// offshoot labels, owned by the database, and `OnDelete`, so that restarts are
// the operator's decision (TLS changes are file changes, taken by reload).
// The pod runs as the catalog version's user, hardened for Pod Security
// `restricted`, with the manifest's podTemplate applied (pod-template.ts).
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels, selectorLabels } from '../../kinds/info.ts';
import { ownerReference, type DbRef } from './owner.ts';
import { governingServiceName } from './services.ts';
import { applyPodTemplate, type PodSpec, type VersionUser } from './pod-template.ts';

export interface StatefulSetInput {
  info: KindInfo;
  db: DbRef;
  replicas: number;
  podManagementPolicy: 'OrderedReady' | 'Parallel';
  podSpec: PodSpec;
  /** The server's container (kubectl's default container). */
  mainContainer: string;
  user: VersionUser;
  /** `spec.podTemplate` of the manifest. */
  podTemplate?: unknown;
  volumeClaimTemplates?: object[];
}

export function buildStatefulSet(i: StatefulSetInput): object {
  const labels = offshootLabels(i.info, i.db.name);
  const pod = applyPodTemplate({ podSpec: i.podSpec, mainContainer: i.mainContainer, user: i.user, labels, template: i.podTemplate });
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: i.db.name,
      namespace: i.db.namespace,
      labels: { ...pod.controller.labels, ...labels },
      ...(Object.keys(pod.controller.annotations).length ? { annotations: pod.controller.annotations } : {}),
      ownerReferences: [ownerReference(i.info, i.db)],
    },
    spec: {
      replicas: i.replicas,
      serviceName: governingServiceName(i.db.name),
      podManagementPolicy: i.podManagementPolicy,
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: selectorLabels(i.info, i.db.name) },
      template: { metadata: pod.metadata, spec: pod.spec },
      ...(i.volumeClaimTemplates ? { volumeClaimTemplates: i.volumeClaimTemplates } : {}),
    },
  };
}
