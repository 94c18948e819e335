// Ops-request defaults. Removing TLS from a database that authenticates
// clients by certificate must also change its clientAuthMode; when the request
// does not say to what, md5 is chosen (as the Pgpool guide's remove request
// expects) and written into the request so the choice is visible.
import type { PostgresOpsRequest } from '../../api/ops.kubedb.com/v1alpha1/postgres-ops-request.ts';
import type { PgBouncerOpsRequest } from '../../api/ops.kubedb.com/v1alpha1/pgbouncer-ops-request.ts';
import type { PgpoolOpsRequest } from '../../api/ops.kubedb.com/v1alpha1/pgpool-ops-request.ts';
import type { AdmissionFacts } from '../facts.ts';
import { defaultIssuerGroups } from './common.ts';

export type OpsRequest = PostgresOpsRequest | PgBouncerOpsRequest | PgpoolOpsRequest;

function targetClientAuthMode(facts: AdmissionFacts): string | undefined {
  const spec = facts.target?.spec as { clientAuthMode?: string } | undefined;
  return spec?.clientAuthMode;
}

export function defaultOpsRequest<T extends OpsRequest>(obj: T, facts: AdmissionFacts): T {
  const ops = structuredClone(obj);
  const tls = ops.spec.tls as { remove?: boolean; clientAuthMode?: string } | undefined;
  if (!tls || ops.spec.type !== 'ReconfigureTLS') return ops;
  defaultIssuerGroups(ops.spec.tls!);
  if (tls.remove && !tls.clientAuthMode && targetClientAuthMode(facts) === 'cert') tls.clientAuthMode = 'md5';
  return ops;
}
