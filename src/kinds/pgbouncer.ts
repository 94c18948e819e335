// PgBouncer: a pooler in front of a KubeDB Postgres (spec.database.databaseRef).
// Its clientAuthMode is connectionPool.authType; it takes every TLS change by
// reload (SIGHUP re-reads the ini and the files it names).
import { PGBOUNCER, PGBOUNCER_OPS, PGBOUNCER_VERSION } from '../api/kinds.ts';
import type { PgBouncer } from '../api/kubedb.com/v1/pgbouncer.ts';
import type { Named } from '../api/objects.ts';
import { PGBOUNCER_AUTH_TYPES, oneOf } from '../api/shared/enums.ts';
import { pgbouncerEngine } from '../engines/pgbouncer/engine.ts';
import { pgbouncerPort, pgbouncerTlsView } from '../provisioner/pgbouncer/config.ts';
import { pgbouncerProvisioner } from '../provisioner/pgbouncer/provisioner.ts';
import { ordinal } from '../provisioner/objects.ts';
import { defaultPgBouncer } from '../webhook/defaults/pgbouncer.ts';
import type { Lookups } from '../webhook/facts.ts';
import { pgbouncerValidators } from '../webhook/validators/pgbouncer.ts';
import { checkPoolerReference, referenceChanged } from '../webhook/validators/reference.ts';
import { kindInfo } from './info.ts';
import { defineKind, type KindModule } from './types.ts';

type Pb = Named<PgBouncer>;
const info = kindInfo(PGBOUNCER, PGBOUNCER_OPS, { component: 'connection-pooler', clientCertUser: 'pgbouncer' });

/** With an ACME issuer PgBouncer gets only a server certificate (admission needs to know). */
async function issuerUsesAcme(pb: PgBouncer, lookups: Lookups): Promise<boolean> {
  const ref = pb.spec?.tls?.issuerRef;
  if (!ref?.name || !ref.kind) return false;
  const issuer = await lookups.getIssuer(ref.kind, pb.metadata?.namespace ?? '', ref.name);
  return Boolean(issuer?.spec?.acme);
}

export const pgbouncerModule: KindModule<Pb, PgBouncer> = {
  info,
  api: { db: PGBOUNCER, ops: PGBOUNCER_OPS, catalog: PGBOUNCER_VERSION },
  is: (obj): obj is Pb => obj.kind === 'PgBouncer',
  admission: {
    default: defaultPgBouncer,
    validators: pgbouncerValidators,
    facts: async (pb, lookups) => ({ issuerUsesAcme: await issuerUsesAcme(pb, lookups) }),
    async authorize(pb, old, user, lookups) {
      const ns = pb.metadata?.namespace ?? '';
      const ref = pb.spec?.database?.databaseRef;
      if (!ref || !referenceChanged(ref, old?.spec?.database?.databaseRef, ns)) return [];
      return checkPoolerReference({ field: 'spec.database.databaseRef', referrerNamespace: ns, ref }, user, lookups);
    },
  },
  provisioner: pgbouncerProvisioner(info),
  ops: {
    dbTls: (db) => ({ tls: db.spec.tls, sslMode: pgbouncerTlsView(db).sslMode, clientAuthMode: db.spec.connectionPool?.authType ?? 'md5' }),
    planned(db, next) {
      const copy = structuredClone(db);
      copy.spec.tls = next.tls;
      copy.spec.sslMode = next.sslMode;
      copy.spec.connectionPool = { ...(copy.spec.connectionPool ?? {}), authType: oneOf(PGBOUNCER_AUTH_TYPES, next.clientAuthMode, 'spec.tls.clientAuthMode') };
      return copy;
    },
    specPatch: (next) => ({ tls: next.tls ?? null, sslMode: next.sslMode, connectionPool: { authType: next.clientAuthMode } }),
    defaultAuth: () => 'md5',
    port: pgbouncerPort,
    order: (pods) => [...pods].sort((a, b) => ordinal(a) - ordinal(b)),
  },
  engine: pgbouncerEngine,
};

export const pgbouncer = defineKind(pgbouncerModule);
