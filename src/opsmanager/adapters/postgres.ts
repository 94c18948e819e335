import type { k8s } from '../../kube/client.ts';
import type { Postgres } from '../../api/kubedb.com/v1/postgres.ts';
import { KINDS } from '../../provisioner/kinds.ts';
import { ordinal } from '../../provisioner/objects.ts';
import { postgresProvisioner, postgresTlsView, postgresCertificates } from '../../provisioner/postgres/provisioner.ts';
import { DATA_DIR, PG_PORT } from '../../provisioner/postgres/config.ts';
import type { DbObject, KindProvisioner } from '../../provisioner/reconciler.ts';
import { registerOpsAdapter, type OpsAdapter } from '../adapter.ts';

export const postgresOps: OpsAdapter = {
  info: KINDS.Postgres,
  provisioner: postgresProvisioner as unknown as KindProvisioner<DbObject>,
  dbTls(db) {
    const pg = db as unknown as Postgres;
    const v = postgresTlsView(pg);
    return { tls: pg.spec.tls, sslMode: v.sslMode, clientAuthMode: v.clientAuthMode };
  },
  planned(db, next) {
    const copy = structuredClone(db) as unknown as Postgres;
    copy.spec.tls = next.tls;
    copy.spec.sslMode = next.sslMode as Postgres['spec']['sslMode'];
    copy.spec.clientAuthMode = next.clientAuthMode as Postgres['spec']['clientAuthMode'];
    return copy as unknown as DbObject;
  },
  specPatch(next) {
    return { tls: next.tls ?? null, sslMode: next.sslMode, clientAuthMode: next.clientAuthMode };
  },
  defaultAuth(db) {
    return Number.parseInt((db as unknown as Postgres).spec.version, 10) >= 18 ? 'scram' : 'md5';
  },
  certificates(db) {
    return postgresCertificates(db as unknown as Postgres);
  },
  async dependents(kube, db) {
    const ns = db.metadata.namespace;
    const name = db.metadata.name;
    const list = (apiVersion: string, kind: string) => kube.list<DbObject>(apiVersion, kind);
    const pbs = (await list('kubedb.com/v1', 'PgBouncer')).filter((o) => {
      const ref = (o.spec as unknown as { database?: { databaseRef?: { name?: string; namespace?: string } } }).database?.databaseRef;
      return ref?.name === name && (ref?.namespace ?? o.metadata.namespace) === ns;
    });
    const pps = (await list('kubedb.com/v1alpha2', 'Pgpool')).filter((o) => {
      const ref = (o.spec as unknown as { postgresRef?: { name?: string; namespace?: string } }).postgresRef;
      return ref?.name === name && (ref?.namespace || o.metadata.namespace) === ns;
    });
    return [...pbs, ...pps];
  },
  path: 'reload',
  port: PG_PORT,
  container: 'postgres',
  reloadCommand: ['pg_ctl', 'reload', '-D', DATA_DIR],
  // Reload the primary first: its pg_hba and TLS change while standbys' open
  // replication connections carry on, then each standby's walreceiver reconnects
  // with its new primary_conninfo, which the primary already accepts. (For
  // restarts KubeDB's order, standbys first, would apply.)
  order(pods: k8s.V1Pod[]) {
    return [...pods].sort((a, b) => ordinal(a) - ordinal(b));
  },
};

registerOpsAdapter(postgresOps);
