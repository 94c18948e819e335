// Pgpool admission rules (KubeDB pkg/webhooks/kubedb/v1alpha2/pgpool.go, kubedb-api.md §2.4).
// The backend's TLS is read from the Postgres object itself, not its AppBinding.
import type { Pgpool } from '../../api/kubedb.com/v1alpha2/pgpool.ts';
import { invalid, notFound, required } from '../field-error.ts';
import { parsePgpoolTunables } from '../../engines/pgpool/tunables.ts';
import type { Validator } from './types.ts';
import { commonDatabaseValidators, podTemplateValidator, replicasValidator, tlsConfigValidator } from './database.ts';
import { PGPOOL_CONTAINER, pgpoolPodSpec } from '../../provisioner/pgpool/statefulset.ts';
import { MAX_REPLICAS } from './limits.ts';

export const PGPOOL_CERT_ALIASES = ['server', 'client', 'metrics-exporter'] as const;

export function backendKey(pp: Pgpool): string {
  return `${pp.spec.postgresRef?.namespace || pp.metadata?.namespace || ''}/${pp.spec.postgresRef?.name ?? ''}`;
}

const validateBackend: Validator<Pgpool> = (pp, _old, facts) => {
  // On update a vanished backend must not block edits (e.g. before deleting this Pgpool).
  if (facts.target === null && facts.operation === 'CREATE') {
    return [notFound('spec.postgresRef', backendKey(pp), 'Pgpool needs an existing backend Postgres')];
  }
  const backendTls = Boolean(facts.target?.spec.tls);
  if (backendTls && !pp.spec.tls) {
    return [required('spec.tls', `the backend Postgres ${backendKey(pp)} has TLS enabled, so Pgpool must use TLS too`)];
  }
  return [];
};

/** spec.configuration.inline's pgpool.conf: only settings pgtls applies, with values of their type. */
const validateConfiguration: Validator<Pgpool> = (pp) => {
  const text = (pp.spec.configuration as { inline?: Record<string, string> } | undefined)?.inline?.['pgpool.conf'];
  if (text === undefined) return [];
  const field = 'spec.configuration.inline[pgpool.conf]';
  const p = parsePgpoolTunables(text, field);
  const errs = p.errors.map((e) => invalid(field, text.length > 200 ? `${text.slice(0, 200)}…` : text, e.startsWith(field) ? e.slice(field.length + 2) : e));
  const mode = p.managed.find(([k]) => k === 'backend_clustering_mode');
  if (mode && mode[1] !== 'streaming_replication') errs.push(invalid(field, mode[1], 'backend_clustering_mode: pgtls runs Pgpool in streaming_replication mode only'));
  return errs;
};

export const pgpoolValidators: readonly Validator<Pgpool>[] = [
  ...commonDatabaseValidators,
  podTemplateValidator((pp: Pgpool) => ({ spec: pgpoolPodSpec({ db: { name: pp.metadata!.name ?? 'db', namespace: pp.metadata!.namespace ?? 'default', uid: '' }, image: '', replicas: pp.spec?.replicas ?? 1 }), mainContainer: PGPOOL_CONTAINER })),
  tlsConfigValidator(PGPOOL_CERT_ALIASES),
  replicasValidator(1, MAX_REPLICAS),
  validateBackend,
  validateConfiguration,
];
