import type { KindInfo } from '../../kinds/info.ts';

export interface DbRef {
  name: string;
  namespace: string;
  uid: string;
}

/** The database owns everything made for it, so deletion cascades. */
export function ownerReference(info: KindInfo, db: DbRef) {
  return {
    apiVersion: info.apiVersion,
    kind: info.kind,
    name: db.name,
    uid: db.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
