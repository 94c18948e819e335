// The admission behaviour of each kind: its defaulter, its validators, and
// the facts it needs looked up. The server routes by the kind's plural.
import {
  PGBOUNCER, PGBOUNCER_OPS, PGPOOL, PGPOOL_OPS, POSTGRES, POSTGRES_OPS, OPS_TARGET,
  type DatabaseKind, type KindInfo, type OpsKind,
} from '../api/kinds.ts';
import type { Postgres } from '../api/kubedb.com/v1/postgres.ts';
import type { PgBouncer } from '../api/kubedb.com/v1/pgbouncer.ts';
import type { Pgpool } from '../api/kubedb.com/v1alpha2/pgpool.ts';
import type { AdmissionFacts, Lookups, Operation } from './facts.ts';
import type { FieldError } from './field-error.ts';
import { defaultPostgres } from './defaults/postgres.ts';
import { defaultPgBouncer } from './defaults/pgbouncer.ts';
import { defaultPgpool } from './defaults/pgpool.ts';
import { defaultOpsRequest, type OpsRequest } from './defaults/ops-request.ts';
import { postgresValidators } from './validators/postgres.ts';
import { pgbouncerValidators } from './validators/pgbouncer.ts';
import { pgpoolValidators } from './validators/pgpool.ts';
import { opsCreateValidators, opsUpdateValidators } from './validators/ops-request.ts';
import { validateDelete } from './validators/database.ts';
import { runValidators, type Validator } from './validators/types.ts';

/** Admission for one kind; objects are untyped JSON at this boundary. */
export interface AdmissionKind {
  info: KindInfo;
  facts(obj: unknown, op: Operation, lookups: Lookups): Promise<AdmissionFacts>;
  default(obj: unknown, facts: AdmissionFacts): unknown;
  validate(obj: unknown, old: unknown, facts: AdmissionFacts): FieldError[];
  validateDelete(old: unknown): FieldError[];
}

type Meta = { metadata?: { name?: string; namespace?: string } };

async function issuerUsesAcme(pb: PgBouncer, lookups: Lookups): Promise<boolean> {
  const ref = pb.spec?.tls?.issuerRef;
  if (!ref?.name || !ref.kind) return false;
  const issuer = await lookups.getIssuer(ref.kind, pb.metadata?.namespace ?? '', ref.name);
  return Boolean(issuer?.spec?.acme);
}

function databaseKind<T extends Meta & { spec: { version: string } }>(
  info: KindInfo & { kind: DatabaseKind },
  defaulter: (obj: T, facts: AdmissionFacts) => T,
  validators: readonly Validator<T>[],
  extraFacts: (obj: T, lookups: Lookups) => Promise<Partial<AdmissionFacts>> = async () => ({}),
): AdmissionKind {
  return {
    info,
    async facts(obj, operation, lookups) {
      const t = obj as T;
      return { operation, versions: await lookups.listVersions(info.kind), ...(await extraFacts(t, lookups)) };
    },
    default: (obj, facts) => defaulter(obj as T, facts),
    validate: (obj, old, facts) => runValidators(validators, obj as T, old as T | undefined, facts),
    validateDelete: (old) => validateDelete(old as T),
  };
}

function opsKind(info: KindInfo & { kind: OpsKind }): AdmissionKind {
  const target = OPS_TARGET[info.kind].kind as DatabaseKind;
  return {
    info,
    async facts(obj, operation, lookups) {
      // The database's state matters only when the request is created; its spec is frozen after.
      if (operation !== 'CREATE') return { operation, versions: [] };
      const ops = obj as OpsRequest;
      const db = await lookups.getDatabase(target, ops.metadata?.namespace ?? '', ops.spec?.databaseRef?.name ?? '');
      return { operation, versions: [], target: db ?? null };
    },
    default: (obj, facts) => defaultOpsRequest(obj as OpsRequest, facts),
    validate: (obj, old, facts) =>
      runValidators(facts.operation === 'CREATE' ? opsCreateValidators : opsUpdateValidators, obj as OpsRequest, old as OpsRequest | undefined, facts),
    validateDelete: () => [],
  };
}

export const ADMISSION_KINDS: readonly AdmissionKind[] = [
  databaseKind<Postgres>(POSTGRES as KindInfo & { kind: 'Postgres' }, defaultPostgres, postgresValidators),
  databaseKind<PgBouncer>(PGBOUNCER as KindInfo & { kind: 'PgBouncer' }, defaultPgBouncer, pgbouncerValidators, async (pb, lookups) => ({
    issuerUsesAcme: await issuerUsesAcme(pb, lookups),
  })),
  databaseKind<Pgpool>(PGPOOL as KindInfo & { kind: 'Pgpool' }, defaultPgpool, pgpoolValidators, async (pp, lookups) => {
    const ns = pp.spec?.postgresRef?.namespace || pp.metadata?.namespace || '';
    return { target: (await lookups.getDatabase('Postgres', ns, pp.spec?.postgresRef?.name ?? '')) ?? null };
  }),
  opsKind(POSTGRES_OPS as KindInfo & { kind: OpsKind }),
  opsKind(PGBOUNCER_OPS as KindInfo & { kind: OpsKind }),
  opsKind(PGPOOL_OPS as KindInfo & { kind: OpsKind }),
];

export function admissionKindFor(plural: string): AdmissionKind | undefined {
  return ADMISSION_KINDS.find((k) => k.info.plural === plural);
}
