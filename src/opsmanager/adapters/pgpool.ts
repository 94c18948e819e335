// Pgpool-II 4.3 builds its TLS context once, at start: every TLS change is a
// restart, pod by pod, each Ready and serving the new certificate before the next.
import type { Pgpool } from '../../api/kubedb.com/v1alpha2/pgpool.ts';
import { KINDS } from '../../provisioner/kinds.ts';
import { ordinal } from '../../provisioner/objects.ts';
import { pgpoolCertificates, pgpoolProvisioner } from '../../provisioner/pgpool/provisioner.ts';
import { PGPOOL_PORT, pgpoolTlsView } from '../../provisioner/pgpool/config.ts';
import type { DbObject, KindProvisioner } from '../../provisioner/reconciler.ts';
import { registerOpsAdapter, type OpsAdapter } from '../adapter.ts';

const asPp = (db: DbObject) => db as unknown as Pgpool;

export const pgpoolOps: OpsAdapter = {
  info: KINDS.Pgpool,
  provisioner: pgpoolProvisioner as unknown as KindProvisioner<DbObject>,
  dbTls(db) {
    const v = pgpoolTlsView(asPp(db));
    return { tls: asPp(db).spec.tls, sslMode: v.sslMode, clientAuthMode: v.clientAuthMode };
  },
  planned(db, next) {
    const copy = structuredClone(db) as unknown as Pgpool;
    copy.spec.tls = next.tls;
    copy.spec.sslMode = next.sslMode as Pgpool['spec']['sslMode'];
    copy.spec.clientAuthMode = next.clientAuthMode as Pgpool['spec']['clientAuthMode'];
    return copy as unknown as DbObject;
  },
  specPatch(next) {
    return { tls: next.tls ?? null, sslMode: next.sslMode, clientAuthMode: next.clientAuthMode };
  },
  defaultAuth: () => 'md5',
  certificates: (db) => pgpoolCertificates(asPp(db)),
  path: 'restart',
  port: PGPOOL_PORT,
  container: 'pgpool',
  reloadCommand: [],
  order: (pods) => [...pods].sort((a, b) => ordinal(b) - ordinal(a)),
};

registerOpsAdapter(pgpoolOps);
