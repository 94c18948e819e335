// A database kind in one place: `KindModule<DB>` is what a kind's module
// (src/kinds/<kind>.ts) supplies, typed with its own object type; `Kind` is
// the same with the object type erased, which is what the shared machinery
// (controllers, webhook, step machine) iterates over. defineKind() erases it
// safely: every function checks that the object really is of the kind.
import type { DatabaseKind, KindInfo as ApiKind } from '../api/kinds.ts';
import type { DbObject } from '../api/objects.ts';
import type { Engine } from '../engines/engine.ts';
import type { OpsAdapter } from '../opsmanager/adapter.ts';
import type { KindProvisioner } from '../provisioner/reconciler.ts';
import { databaseAdmission, opsAdmission, type AdmissionKind, type DatabaseAdmission } from '../webhook/admission-kind.ts';
import type { KindInfo } from './info.ts';

/** What admission sees: the API type, before the API server names it. */
type AdmissionObject = { metadata?: { name?: string; namespace?: string }; spec: { version: string } };

export interface KindModule<DB extends DbObject, A extends AdmissionObject = DB> {
  /** Names the operator uses (labels, ops kind, aliases). */
  info: KindInfo;
  /** The CRDs: the database, its ops request and its version catalog. */
  api: { db: ApiKind & { kind: DatabaseKind }; ops: ApiKind; catalog: ApiKind };
  /** Whether an object read from the API server is of this kind. */
  is(obj: DbObject): obj is DB;
  admission: DatabaseAdmission<A>;
  provisioner: KindProvisioner<DB>;
  ops: OpsAdapter<DB>;
  /** How the kind's server takes a TLS change (reload or restart, and how). */
  engine: Engine;
}

export interface Kind {
  info: KindInfo;
  api: KindModule<DbObject>['api'];
  is(obj: DbObject): boolean;
  admission: { db: AdmissionKind; ops: AdmissionKind };
  provisioner: KindProvisioner<DbObject>;
  ops: OpsAdapter<DbObject>;
  engine: Engine;
}

export function defineKind<DB extends DbObject, A extends AdmissionObject>(m: KindModule<DB, A>): Kind {
  const narrow = (db: DbObject): DB => {
    if (m.is(db)) return db;
    throw new Error(`${db.kind ?? 'object'} ${db.metadata.namespace}/${db.metadata.name} handed to the ${m.info.kind} kind`);
  };
  const p = m.provisioner;
  const o = m.ops;
  const stage = p.stage;
  const dependents = o.dependents;
  return {
    info: m.info,
    api: m.api,
    is: (obj) => m.is(obj),
    admission: { db: databaseAdmission<A>(m.api.db, m.admission), ops: opsAdmission(m.api.ops, m.info.kind) },
    provisioner: {
      info: p.info,
      apply: (ctx, db, staged) => p.apply(ctx, narrow(db), staged),
      stage: stage && ((ctx, db, extraCas) => stage(ctx, narrow(db), extraCas)),
      health: (ctx, db, pods) => p.health(ctx, narrow(db), pods),
      certificates: (db) => p.certificates(narrow(db)),
      secretsOf: (db) => p.secretsOf(narrow(db)),
    },
    ops: {
      dbTls: (db) => o.dbTls(narrow(db)),
      planned: (db, next) => o.planned(narrow(db), next),
      specPatch: (next) => o.specPatch(next),
      defaultAuth: (db) => o.defaultAuth(narrow(db)),
      port: (db) => o.port(narrow(db)),
      dependents: dependents && ((kube, db) => dependents(kube, narrow(db))),
      order: (pods) => o.order(pods),
    },
    engine: m.engine,
  };
}
