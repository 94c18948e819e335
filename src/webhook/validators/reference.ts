// A pooler's backend in another namespace: allowed only when the requesting
// user could read the backend's credentials themselves (a pooler copies them
// into its own namespace) and the backend opts in (reference-grant.ts). The
// checks run in an order that reveals nothing the user may not already see:
// may they read the Postgres → does it exist → may they read its auth Secret →
// does it accept their namespace.
import { authSecretName } from '../../api/shared/names.ts';
import { notGrantedMessage, referenceAllowed } from '../../api/shared/reference-grant.ts';
import { forbidden, notFound, type FieldError } from '../field-error.ts';
import type { Lookups, UserInfo } from '../facts.ts';

export interface PoolerReference {
  /** The field that holds the reference, e.g. spec.database.databaseRef. */
  field: string;
  referrerNamespace: string;
  ref: { namespace: string; name: string };
}

const who = (user: UserInfo | undefined) => JSON.stringify(user?.username ?? '');

export async function checkPoolerReference(r: PoolerReference, user: UserInfo | undefined, lookups: Lookups): Promise<FieldError[]> {
  const { namespace, name } = r.ref;
  if (!namespace || namespace === r.referrerNamespace) return [];
  const field = `${r.field}.namespace`;
  const can = async (resource: string, group: string, objName: string) =>
    !!user && (await lookups.reviewAccess(user, { verb: 'get', group, resource, namespace, name: objName }));
  if (!(await can('postgreses', 'kubedb.com', name))) {
    return [forbidden(field, `user ${who(user)} may not get postgreses.kubedb.com "${name}" in namespace "${namespace}"`)];
  }
  const target = await lookups.getDatabase('Postgres', namespace, name);
  if (!target) return [notFound(r.field, `${namespace}/${name}`, `no Postgres of that name in namespace "${namespace}"`)];
  const secret = target.spec.authSecret?.name || authSecretName(name);
  if (!(await can('secrets', '', secret))) {
    return [forbidden(field, `user ${who(user)} may not get secret "${secret}" in namespace "${namespace}"; a pooler copies its backend's credentials, so its creator must be able to read them`)];
  }
  const withNs = { ...target, metadata: { ...target.metadata, namespace } };
  if (!referenceAllowed(withNs, r.referrerNamespace)) return [forbidden(field, notGrantedMessage({ kind: 'Postgres', namespace, name }, r.referrerNamespace))];
  return [];
}

/** On update only a changed reference is checked again (the provisioner enforces a withdrawn grant). */
export function referenceChanged(now: { namespace?: string; name?: string } | undefined, before: { namespace?: string; name?: string } | undefined, referrerNamespace: string): boolean {
  const ns = (r: { namespace?: string } | undefined) => r?.namespace || referrerNamespace;
  return !before || ns(now) !== ns(before) || now?.name !== before.name;
}
