// Services of a database: KubeDB's primary service (the DB's name), the
// standby service for Postgres, and the headless governing service that gives
// StatefulSet pods stable DNS names.
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels, selectorLabels } from '../../kinds/info.ts';
import { ownerReference, type DbRef } from './owner.ts';

export const ROLE_LABEL = 'kubedb.com/role';

export function governingServiceName(db: string): string {
  return `${db}-pods`;
}

export interface ServiceSpecInput {
  info: KindInfo;
  db: DbRef;
  port: number;
  portName: string;
  /** Postgres: the primary service selects role=primary and a standby service exists. */
  roles: boolean;
}

export function buildServices(i: ServiceSpecInput): object[] {
  const meta = (name: string) => ({
    name,
    namespace: i.db.namespace,
    labels: offshootLabels(i.info, i.db.name),
    ownerReferences: [ownerReference(i.info, i.db)],
  });
  const sel = selectorLabels(i.info, i.db.name);
  const ports = [{ name: i.portName, port: i.port, targetPort: i.port, protocol: 'TCP' }];
  const out: object[] = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(i.db.name),
      spec: { type: 'ClusterIP', selector: i.roles ? { ...sel, [ROLE_LABEL]: 'primary' } : sel, ports },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(governingServiceName(i.db.name)),
      spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: sel, ports },
    },
  ];
  if (i.roles) {
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(`${i.db.name}-standby`),
      spec: { type: 'ClusterIP', selector: { ...sel, [ROLE_LABEL]: 'standby' }, ports: [{ ...ports[0], name: 'standby' }] },
    });
  }
  return out;
}
