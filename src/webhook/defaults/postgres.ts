// Postgres defaults (kubedb-api.md §2.2).
import type { Postgres } from '../../api/kubedb.com/v1/postgres.ts';
import { majorVersion, type AdmissionFacts } from '../facts.ts';
import { defaultCommon, defaultTls } from './common.ts';

export const POSTGRES_TLS_ALIASES = ['server', 'client', 'metrics-exporter'] as const;

/** scram-sha-256 became PostgreSQL's default password method in 18 for KubeDB; md5 before. */
export function defaultClientAuthMode(major: number): 'md5' | 'scram' {
  return major >= 18 ? 'scram' : 'md5';
}

export function defaultPostgres(obj: Postgres, facts: AdmissionFacts): Postgres {
  const pg = structuredClone(obj);
  const s = pg.spec;
  const name = pg.metadata?.name ?? '';
  defaultCommon(s, name);
  s.storageType ??= 'Durable';
  s.standbyMode ??= 'Hot';
  // Unknown versions are left alone: validation refuses them with the list of known ones.
  const major = majorVersion(facts.versions, s.version);
  if (!s.clientAuthMode && major !== undefined) s.clientAuthMode = defaultClientAuthMode(major);
  defaultTls(s.tls, name, POSTGRES_TLS_ALIASES);
  return pg;
}
