// Admission for one kind, built from what the kind supplies (its defaulter,
// validators and the facts it needs). Objects are untyped JSON at this
// boundary: the API server has already checked them against the CRD schema.
import type { DatabaseKind, KindInfo as ApiKind } from '../api/kinds.ts';
import type { AdmissionFacts, Lookups, Operation, UserInfo } from './facts.ts';
import type { FieldError } from './field-error.ts';
import { defaultOpsRequest, type OpsRequest } from './defaults/ops-request.ts';
import { opsCreateValidators, opsUpdateValidators } from './validators/ops-request.ts';
import { validateDelete } from './validators/database.ts';
import { runValidators, type Validator } from './validators/types.ts';

export interface AdmissionKind {
  info: ApiKind;
  facts(obj: unknown, op: Operation, lookups: Lookups): Promise<AdmissionFacts>;
  default(obj: unknown, facts: AdmissionFacts): unknown;
  validate(obj: unknown, old: unknown, facts: AdmissionFacts): FieldError[];
  validateDelete(old: unknown): FieldError[];
  /** Checks that depend on who asks (SubjectAccessReviews); run before anything else is looked up. */
  authorize(obj: unknown, old: unknown, user: UserInfo | undefined, lookups: Lookups): Promise<FieldError[]>;
}

type Meta = { metadata?: { name?: string; namespace?: string } };

/** What a database kind contributes to admission. */
export interface DatabaseAdmission<T> {
  default(obj: T, facts: AdmissionFacts): T;
  validators: readonly Validator<T>[];
  /** Facts beyond the version catalog (an issuer, a backend). */
  facts?(obj: T, lookups: Lookups): Promise<Partial<AdmissionFacts>>;
  /** Checks of the requesting user's rights (a pooler's backend in another namespace). */
  authorize?(obj: T, old: T | undefined, user: UserInfo | undefined, lookups: Lookups): Promise<FieldError[]>;
}

export function databaseAdmission<T extends Meta & { spec: { version: string } }>(info: ApiKind & { kind: DatabaseKind }, a: DatabaseAdmission<T>): AdmissionKind {
  return {
    info,
    async facts(obj, operation, lookups) {
      // The CRD schema has checked the shape; this is the kind's own type from here on.
      const t = obj as T;
      return { operation, versions: await lookups.listVersions(info.kind), ...(a.facts ? await a.facts(t, lookups) : {}) };
    },
    default: (obj, facts) => a.default(obj as T, facts),
    validate: (obj, old, facts) => runValidators(a.validators, obj as T, old as T | undefined, facts),
    validateDelete: (old) => validateDelete(old as T),
    authorize: async (obj, old, user, lookups) => (a.authorize ? a.authorize(obj as T, old as T | undefined, user, lookups) : []),
  };
}

export function opsAdmission(info: ApiKind, target: DatabaseKind): AdmissionKind {
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
    authorize: async () => [],
  };
}
