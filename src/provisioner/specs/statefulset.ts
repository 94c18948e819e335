// The StatefulSet every kind uses: governed by `<db>-pods`, selected by the
// offshoot labels, owned by the database, and `OnDelete`, so that restarts are
// the operator's decision (TLS changes are file changes, taken by reload).
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels, selectorLabels } from '../../kinds/info.ts';
import { ownerReference, type DbRef } from './owner.ts';
import { governingServiceName } from './services.ts';

export interface StatefulSetInput {
  info: KindInfo;
  db: DbRef;
  replicas: number;
  podManagementPolicy: 'OrderedReady' | 'Parallel';
  podSpec: Record<string, unknown>;
  volumeClaimTemplates?: object[];
}

export function buildStatefulSet(i: StatefulSetInput): object {
  const labels = offshootLabels(i.info, i.db.name);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: i.db.name, namespace: i.db.namespace, labels, ownerReferences: [ownerReference(i.info, i.db)] },
    spec: {
      replicas: i.replicas,
      serviceName: governingServiceName(i.db.name),
      podManagementPolicy: i.podManagementPolicy,
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: selectorLabels(i.info, i.db.name) },
      template: { metadata: { labels }, spec: i.podSpec },
      ...(i.volumeClaimTemplates ? { volumeClaimTemplates: i.volumeClaimTemplates } : {}),
    },
  };
}
