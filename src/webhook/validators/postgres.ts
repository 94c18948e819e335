// Postgres admission rules (KubeDB pkg/webhooks/kubedb/v1/postgres.go, kubedb-api.md §2.2, §2.6).
import type { Postgres } from '../../api/kubedb.com/v1/postgres.ts';
import { forbidden, invalid, required, type FieldError } from '../field-error.ts';
import { majorVersion } from '../facts.ts';
import type { Validator } from './types.ts';
import { commonDatabaseValidators, replicasValidator, tlsConfigValidator } from './database.ts';
import { MAX_REPLICAS } from './limits.ts';

export const POSTGRES_CERT_ALIASES = ['server', 'client', 'metrics-exporter', 'archiver'] as const;

const validateStorage: Validator<Postgres> = (pg) => {
  const s = pg.spec;
  const errs: FieldError[] = [];
  if ((s.storageType ?? 'Durable') === 'Durable' && !s.storage) errs.push(required('spec.storage', 'required when spec.storageType is "Durable"'));
  if (s.storageType === 'Ephemeral' && s.deletionPolicy === 'Halt') {
    errs.push(forbidden('spec.deletionPolicy', '"Halt" keeps the data volumes, which spec.storageType "Ephemeral" does not have; supported values: "Delete", "WipeOut", "DoNotTerminate"'));
  }
  return errs;
};

const validateScram: Validator<Postgres> = (pg, _old, facts) => {
  const major = majorVersion(facts.versions, pg.spec.version);
  if (pg.spec.clientAuthMode !== 'scram' || major === undefined || major >= 11) return [];
  return [invalid('spec.clientAuthMode', 'scram', `needs PostgreSQL 11 or later, and version "${pg.spec.version}" is ${major}; supported values: "md5", "cert"`)];
};

const validateImmutable: Validator<Postgres> = (pg, old) => {
  if (!old || (old.spec.storageType ?? 'Durable') === (pg.spec.storageType ?? 'Durable')) return [];
  return [invalid('spec.storageType', pg.spec.storageType ?? 'Durable', 'field is immutable')];
};

export const postgresValidators: readonly Validator<Postgres>[] = [
  ...commonDatabaseValidators,
  tlsConfigValidator(POSTGRES_CERT_ALIASES),
  replicasValidator(1, MAX_REPLICAS),
  validateStorage,
  validateScram,
  validateImmutable,
];
