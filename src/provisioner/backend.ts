// A pooler's backend: the KubeDB Postgres it points at, seen the way the
// pooler must reach it. KubeDB reads this from the Postgres's AppBinding
// (service host, `sslmode=<mode>` query, caBundle, auth secret); pgtls reads
// the Postgres object directly, which holds the same facts.
import { authSecretName } from '../api/shared/names.ts';
import type { Postgres } from '../api/kubedb.com/v1/postgres.ts';
import type { ClientAuthMode, SslMode, User } from '../engines/types.ts';
import type { KubeClient } from '../kube/api.ts';
import { WaitFor } from './context.ts';
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
  port: number;
  /** How the backend serves TLS; the pooler connects with the same mode (`disable` = plain). */
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
  authSecret: string;
  /** The backend's users with their passwords (syncUsers: the Postgres auth secret). */
  users: User[];
  /** PEM of the CA that signed the backend's certificates; empty without TLS. */
  caPem: string;
}

/** Resolves the backend Postgres; throws WaitFor until it exists, has credentials and (with TLS) its CA. */
export async function resolveBackend(kube: KubeClient, ref: { name: string; namespace: string }): Promise<PoolerBackend> {
  const pg = await kube.get<Postgres & DbObject>('kubedb.com/v1', 'Postgres', ref.name, ref.namespace);
  if (!pg) throw new WaitFor(`backend Postgres ${ref.namespace}/${ref.name}`, 5000);
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
  return {
    name: ref.name,
    namespace: ref.namespace,
    host: `${ref.name}.${ref.namespace}.svc`,
    port: PG_PORT,
    sslMode,
    clientAuthMode,
    authSecret,
    users: [{ name: auth.username || 'postgres', password: auth.password }],
    caPem,
  };
}
