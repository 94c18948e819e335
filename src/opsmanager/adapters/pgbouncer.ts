// PgBouncer takes every TLS change by reload (SIGHUP re-reads the ini and the
// files it names). Its clientAuthMode is connectionPool.authType.
import type { PgBouncer } from '../../api/kubedb.com/v1/pgbouncer.ts';
import { KINDS } from '../../provisioner/kinds.ts';
import { ordinal } from '../../provisioner/objects.ts';
import { pgbouncerCertificates, pgbouncerProvisioner } from '../../provisioner/pgbouncer/provisioner.ts';
import { PGBOUNCER_PID_FILE, pgbouncerPort, pgbouncerTlsView } from '../../provisioner/pgbouncer/config.ts';
import type { DbObject, KindProvisioner } from '../../provisioner/reconciler.ts';
import { registerOpsAdapter, type OpsAdapter } from '../adapter.ts';

const asPb = (db: DbObject) => db as unknown as PgBouncer;

export const pgbouncerOps: OpsAdapter = {
  info: KINDS.PgBouncer,
  provisioner: pgbouncerProvisioner as unknown as KindProvisioner<DbObject>,
  dbTls(db) {
    const pb = asPb(db);
    return { tls: pb.spec.tls, sslMode: pgbouncerTlsView(pb).sslMode, clientAuthMode: pb.spec.connectionPool?.authType ?? 'md5' };
  },
  planned(db, next) {
    const copy = structuredClone(db) as unknown as PgBouncer;
    copy.spec.tls = next.tls;
    copy.spec.sslMode = next.sslMode as PgBouncer['spec']['sslMode'];
    copy.spec.connectionPool = { ...(copy.spec.connectionPool ?? {}), authType: next.clientAuthMode as 'md5' | 'scram-sha-256' };
    return copy as unknown as DbObject;
  },
  specPatch(next) {
    return { tls: next.tls ?? null, sslMode: next.sslMode, connectionPool: { authType: next.clientAuthMode } };
  },
  defaultAuth: () => 'md5',
  certificates: (db) => pgbouncerCertificates(asPb(db)),
  path: 'reload',
  port: 5432,
  portOf: (db) => pgbouncerPort(asPb(db)),
  container: 'pgbouncer',
  reloadCommand: ['sh', '-c', `kill -HUP "$(cat ${PGBOUNCER_PID_FILE})"`],
  order: (pods) => [...pods].sort((a, b) => ordinal(a) - ordinal(b)),
};

registerOpsAdapter(pgbouncerOps);
