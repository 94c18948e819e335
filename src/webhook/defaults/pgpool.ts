// Pgpool defaults (kubedb-api.md §2.4).
import type { Pgpool } from '../../api/kubedb.com/v1alpha2/pgpool.ts';
import type { AdmissionFacts } from '../facts.ts';
import { defaultCommon, defaultTls } from './common.ts';

export function defaultPgpool(obj: Pgpool, _facts: AdmissionFacts): Pgpool {
  const pp = structuredClone(obj);
  const s = pp.spec;
  const name = pp.metadata?.name ?? '';
  defaultCommon(s, name);
  s.clientAuthMode ??= 'md5';
  // Spelled out so readers of the object need not know the referrer's-namespace rule.
  if (s.postgresRef && !s.postgresRef.namespace && pp.metadata?.namespace) s.postgresRef.namespace = pp.metadata.namespace;
  defaultTls(s.tls, name, ['server', 'client', 'metrics-exporter']);
  return pp;
}
