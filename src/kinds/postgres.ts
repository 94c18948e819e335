// Postgres: a fixed primary (ordinal 0) with streaming standbys. Its servers
// take every TLS change by reload, primary first; the poolers in front of it
// (PgBouncer, Pgpool) trust its CA and follow a CA change.
import { POSTGRES, POSTGRES_OPS, POSTGRES_VERSION } from '../api/kinds.ts';
import type { Postgres } from '../api/kubedb.com/v1/postgres.ts';
import type { DbObject, Named } from '../api/objects.ts';
import { postgresEngine } from '../engines/postgres/engine.ts';
import { PG_PORT } from '../provisioner/postgres/config.ts';
import { ordinal } from '../provisioner/objects.ts';
import { postgresProvisioner, postgresTlsView } from '../provisioner/postgres/provisioner.ts';
import { defaultPostgres } from '../webhook/defaults/postgres.ts';
import { postgresValidators } from '../webhook/validators/postgres.ts';
import { referenceAllowed } from '../api/shared/reference-grant.ts';
import { clientAuthModeTls } from './common.ts';
import { kindInfo } from './info.ts';
import { defineKind, type KindModule } from './types.ts';

type Pg = Named<Postgres>;
const info = kindInfo(POSTGRES, POSTGRES_OPS, { component: 'database', clientCertUser: 'postgres' });

export const postgresModule: KindModule<Pg, Postgres> = {
  info,
  api: { db: POSTGRES, ops: POSTGRES_OPS, catalog: POSTGRES_VERSION },
  is: (obj): obj is Pg => obj.kind === 'Postgres',
  admission: { default: defaultPostgres, validators: postgresValidators },
  provisioner: postgresProvisioner(info),
  ops: {
    ...clientAuthModeTls<Pg>(postgresTlsView),
    defaultAuth: (db) => (Number.parseInt(db.spec.version, 10) >= 18 ? 'scram' : 'md5'),
    port: () => PG_PORT,
    async dependents(kube, db) {
      const ns = db.metadata.namespace;
      const name = db.metadata.name;
      type Pooler = DbObject & { spec: { database?: { databaseRef?: { name?: string; namespace?: string } }; postgresRef?: { name?: string; namespace?: string } } };
      const pbs = (await kube.list<Pooler>('kubedb.com/v1', 'PgBouncer')).filter((o) => {
        const ref = o.spec.database?.databaseRef;
        return ref?.name === name && (ref?.namespace ?? o.metadata.namespace) === ns;
      });
      const pps = (await kube.list<Pooler>('kubedb.com/v1alpha2', 'Pgpool')).filter((o) => {
        const ref = o.spec.postgresRef;
        return ref?.name === name && (ref?.namespace || o.metadata.namespace) === ns;
      });
      // A pooler in a namespace this database does not accept never takes part in (or holds up) its requests.
      return [...pbs, ...pps].filter((p) => referenceAllowed(db, p.metadata.namespace!));
    },
    // Reload the primary first: its pg_hba and TLS change while standbys' open
    // replication connections carry on, then each standby's walreceiver reconnects
    // with its new primary_conninfo, which the primary already accepts. (For
    // restarts KubeDB's order, standbys first, would apply.)
    order: (pods) => [...pods].sort((a, b) => ordinal(a) - ordinal(b)),
  },
  engine: postgresEngine,
};

export const postgres = defineKind(postgresModule);
