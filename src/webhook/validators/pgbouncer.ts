// PgBouncer admission rules (KubeDB pkg/webhooks/kubedb/v1/pgbouncer.go, kubedb-api.md §2.3).
import type { PgBouncer } from '../../api/kubedb.com/v1/pgbouncer.ts';
import { invalid, required } from '../field-error.ts';
import type { Validator } from './types.ts';
import { commonDatabaseValidators, replicasValidator, tlsConfigValidator } from './database.ts';
import { MAX_REPLICAS, validatePort } from './limits.ts';

export const PGBOUNCER_CERT_ALIASES = ['server', 'client', 'metrics-exporter'] as const;

const validateDatabaseName: Validator<PgBouncer> = (pb) => {
  const name = pb.spec.database?.databaseName;
  if (!name) return [required('spec.database.databaseName', 'the backend database clients connect to')];
  if (name === 'pgbouncer') return [invalid('spec.database.databaseName', name, 'reserved for PgBouncer\'s admin console; name a database of the backend Postgres')];
  return [];
};

export const pgbouncerValidators: readonly Validator<PgBouncer>[] = [
  ...commonDatabaseValidators,
  tlsConfigValidator(PGBOUNCER_CERT_ALIASES),
  replicasValidator(1, MAX_REPLICAS),
  validateDatabaseName,
  (pb) => validatePort(pb.spec.connectionPool?.port, 'spec.connectionPool.port'),
];
