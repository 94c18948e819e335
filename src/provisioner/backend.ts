// A pooler's backend: the KubeDB Postgres it points at, seen the way the
// pooler must reach it. KubeDB reads this from the Postgres's AppBinding
// (service host, `sslmode=<mode>` query, caBundle, auth secret); pgtls reads
// the Postgres object directly, which holds the same facts.
import { authSecretName } from '../api/shared/names.ts';
import type { Postgres } from '../api/kubedb.com/v1/postgres.ts';
import type { ClientAuthMode, SslMode, User } from '../engines/types.ts';
import type { KubeClient, KubeObject } from '../kube/api.ts';
import { notGrantedMessage, referenceAllowed } from '../api/shared/reference-grant.ts';
import { ReferenceRefused, WaitFor } from './context.ts';
import { readSecret } from './objects.ts';
import type { DbObject } from './reconciler.ts';
import { postgresTlsView } from './postgres/provisioner.ts';
import { stagedTlsSecretName } from './specs/tls-staging.ts';
import { PG_PORT } from './postgres/config.ts';

export interface PoolerBackend {
  name: string;
  namespace: string;
  /** The primary Service's DNS name: what the server certificate covers and what verify-full checks. */
  host: string;
  /**
   * The standby Service's DNS name (`<db>-standby.<ns>.svc`, also covered by the
   * server certificate), when the Postgres has standbys to read from.
   */
  standbyHost?: string;
  port: number;
  /** How the backend serves TLS; the pooler connects with the same mode (`disable` = plain). */
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
  authSecret: string;
  /** The backend's superuser (its auth secret's username): what health and replication checks log in as. */
  superuser: string;
  /** The backend's users with their passwords (syncUsers: the Postgres auth secret). */
  users: User[];
  /** PEM of the CA that signed the backend's certificates; empty without TLS. */
  caPem: string;
}

/**
 * Resolves the backend Postgres; throws WaitFor until it exists, has credentials and (with TLS) its CA.
 * A backend in another namespace is read only while it accepts poolers from `referrerNamespace`
 * (admission checked the user's rights; this keeps a withdrawn grant withdrawn).
 */
export async function resolveBackend(kube: KubeClient, ref: { name: string; namespace: string }, referrerNamespace: string): Promise<PoolerBackend> {
  const pg = await kube.get<Postgres & DbObject>('kubedb.com/v1', 'Postgres', ref.name, ref.namespace);
  if (!pg) throw new WaitFor(`backend Postgres ${ref.namespace}/${ref.name}`, 5000);
  if (!referenceAllowed(pg, referrerNamespace)) throw new ReferenceRefused(notGrantedMessage({ kind: 'Postgres', namespace: ref.namespace, name: ref.name }, referrerNamespace));
  const { sslMode, clientAuthMode } = postgresTlsView(pg);
  const authSecret = pg.spec.authSecret?.name || authSecretName(ref.name);
  const auth = await readSecret(kube, ref.namespace, authSecret);
  if (!auth?.password) throw new WaitFor(`backend auth secret ${ref.namespace}/${authSecret}`);
  let caPem = '';
  if (sslMode !== 'disable') {
    // The backend's staged trust bundle, not cert-manager's ca.crt: during a CA
    // change it holds the old and the new CA, so poolers trust both before the
    // backend serves a certificate from the new one.
    const staged = stagedTlsSecretName(ref.name);
    caPem = (await readSecret(kube, ref.namespace, staged))?.['ca.crt'] ?? '';
    if (!caPem) throw new WaitFor(`backend CA in ${ref.namespace}/${staged}`);
  }
  const superuser = auth.username || 'postgres';
  return {
    name: ref.name,
    namespace: ref.namespace,
    host: `${ref.name}.${ref.namespace}.svc`,
    // A standby Service without endpoints would make every pooled session fail (the
    // local network's Service relay accepts and then resets), so it is named only
    // when there is a standby behind it.
    standbyHost: (pg.spec.replicas ?? 1) > 1 ? `${ref.name}-standby.${ref.namespace}.svc` : undefined,
    port: PG_PORT,
    sslMode,
    clientAuthMode,
    authSecret,
    superuser,
    users: [{ name: superuser, password: auth.password }],
    caPem,
  };
}

/**
 * KubeDB's syncUsers: Secrets in the backend's namespace labelled
 * `app.kubernetes.io/instance=<backend>` and `app.kubernetes.io/name=postgreses.kubedb.com`
 * with `username` and `password` keys are users the pooler knows (the
 * operator's own labelled Secrets without those keys are not). Sorted by name,
 * the backend's own auth user left out.
 */
export async function syncedUsers(kube: KubeClient, backend: Pick<PoolerBackend, 'name' | 'namespace' | 'users'>): Promise<User[]> {
  const secrets = await kube.list<KubeObject>('v1', 'Secret', {
    namespace: backend.namespace,
    labelSelector: { 'app.kubernetes.io/instance': backend.name, 'app.kubernetes.io/name': 'postgreses.kubedb.com' },
  });
  const known = new Set(backend.users.map((u) => u.name));
  const out = new Map<string, User>();
  for (const s of secrets) {
    const d = s.data ?? {};
    if (!d.username || !d.password) continue;
    const name = Buffer.from(d.username, 'base64').toString('utf8').trim();
    const password = Buffer.from(d.password, 'base64').toString('utf8');
    // A name or password that would break pool_passwd's `user:TEXTpassword` line is skipped, not fatal.
    if (!name || known.has(name) || /[:\n\r\0]/.test(name) || /[\n\r\0]/.test(password)) continue;
    out.set(name, { name, password });
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}
