// PgBouncer defaults (kubedb-api.md §2.3), connectionPool values from KubeDB's Go comments.
import type { PgBouncer, ConnectionPool } from '../../api/kubedb.com/v1/pgbouncer.ts';
import type { AdmissionFacts } from '../facts.ts';
import { defaultCommon, defaultTls } from './common.ts';

export const CONNECTION_POOL_DEFAULTS: Required<Pick<ConnectionPool,
  'port' | 'poolMode' | 'authType' | 'maxClientConnections' | 'defaultPoolSize' | 'minPoolSize' | 'reservePoolSize' |
  'reservePoolTimeoutSeconds' | 'maxDBConnections' | 'maxUserConnections' | 'statsPeriodSeconds'>> = {
  port: 5432,
  poolMode: 'session',
  authType: 'md5',
  maxClientConnections: 100,
  defaultPoolSize: 20,
  minPoolSize: 0,
  reservePoolSize: 0,
  reservePoolTimeoutSeconds: 5,
  maxDBConnections: 0,
  maxUserConnections: 0,
  statsPeriodSeconds: 60,
};

export function defaultPgBouncer(obj: PgBouncer, facts: AdmissionFacts): PgBouncer {
  const pb = structuredClone(obj);
  const s = pb.spec;
  const name = pb.metadata?.name ?? '';
  defaultCommon(s, name);
  s.connectionPool = { ...CONNECTION_POOL_DEFAULTS, ...s.connectionPool };
  // An ACME issuer cannot sign client certificates (it only does domain validation).
  defaultTls(s.tls, name, facts.issuerUsesAcme ? ['server'] : ['server', 'client', 'metrics-exporter']);
  return pb;
}
