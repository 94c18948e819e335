// Pgpool: auth secret (the pcp user), Certificates, config secret (pgpool.conf,
// pool_hba.conf, pool_passwd with every backend user, pcp.conf, ca.pem),
// Services and the StatefulSet. The backend is the KubeDB Postgres in
// spec.postgresRef, in streaming-replication mode as KubeDB runs it: its primary
// Service is backend 0, its standby Service backend 1, reads balanced to both.
import { k8s } from '../../kube/client.ts';
import { authSecretName } from '../../api/shared/names.ts';
import type { Pgpool } from '../../api/kubedb.com/v1alpha2/pgpool.ts';
import type { KindInfo } from '../../kinds/info.ts';
import { WaitFor, type ProvisionerContext } from '../context.ts';
import { resolveBackend, syncedUsers } from '../backend.ts';
import { catalogEntry, createIfAbsent, readSecret } from '../objects.ts';
import { dbRef, type DbObject, type KindProvisioner } from '../reconciler.ts';
import { poolerHealth } from '../pgbouncer/health.ts';
import { buildAuthSecret, buildConfigSecret } from '../specs/secrets.ts';
import { buildServices } from '../specs/services.ts';
import { buildStagedTlsSecret, type StagedTls } from '../specs/tls-staging.ts';
import { certSecretNames, databaseCertificates, databaseSecrets, stageDatabase } from '../tls.ts';
import { buildAppBinding } from '../specs/appbinding.ts';
import { PGPOOL_CONF_KEY, PGPOOL_PCP_USER, PGPOOL_PORT, pgpoolTlsView, pgpoolUserConfig, renderPgpoolFiles } from './config.ts';
import { buildPgpoolStatefulSet } from './statefulset.ts';
import { versionUser } from '../specs/pod-template.ts';
import { POOLER_UID } from '../pgbouncer/provisioner.ts';

export type PgpoolDb = Pgpool & DbObject;

/** Pgpool-II logs client certificates in by CN alone: its client CA may be its own (specs/client-ca.ts). */
export const pgpoolCertificates = (info: KindInfo, db: PgpoolDb) => databaseCertificates(info, db, { ownClientCa: true });


/** The config secret's files as the spec, the staged material and the backend say now. */
export async function pgpoolConfigFiles(ctx: ProvisionerContext, db: PgpoolDb, material: StagedTls | undefined, serverVersion: string): Promise<Record<string, string>> {
  const ns = db.metadata.namespace!;
  const authName = db.spec.authSecret?.name || authSecretName(db.metadata.name!);
  const auth = await readSecret(ctx.kube, ns, authName);
  if (!auth?.password) throw new WaitFor(`secret ${authName} with a password`);
  const backend = await resolveBackend(ctx.kube, { name: db.spec.postgresRef.name, namespace: db.spec.postgresRef.namespace || ns }, ns);
  const tls = material ? pgpoolTlsView(db) : { ...pgpoolTlsView(db), sslMode: 'disable' as const, clientAuthMode: pgpoolTlsView(db).clientAuthMode === 'cert' ? ('md5' as const) : pgpoolTlsView(db).clientAuthMode };
  // Pgpool's trust for client certificates: the CA(s) that sign its `client`
  // certificate (its own client CA, or the issuer's), as staged.
  const ownCaPem = material?.['client-ca.crt'] ?? material?.['ca.crt'] ?? '';
  const tunables = await pgpoolSpecConfig(ctx, db);
  const synced = db.spec.syncUsers ? await syncedUsers(ctx.kube, backend) : [];
  return renderPgpoolFiles({ tls, backend, pcp: { name: auth.username || PGPOOL_PCP_USER, password: auth.password }, ownCaPem, serverVersion, syncedUsers: synced, tunables });
}

/** spec.configuration: the pgpool.conf key of its secret, then of inline; a setting pgtls cannot take fails the apply with its name. */
async function pgpoolSpecConfig(ctx: ProvisionerContext, db: PgpoolDb) {
  const conf = db.spec.configuration as { secretName?: string; inline?: Record<string, string> } | undefined;
  const texts: { source: string; text: string }[] = [];
  if (conf?.secretName) {
    const data = await readSecret(ctx.kube, db.metadata.namespace!, conf.secretName);
    if (!data) throw new WaitFor(`secret ${conf.secretName} (spec.configuration.secretName)`);
    if (data[PGPOOL_CONF_KEY]) texts.push({ source: `secret ${conf.secretName} ${PGPOOL_CONF_KEY}`, text: data[PGPOOL_CONF_KEY] });
  }
  if (conf?.inline?.[PGPOOL_CONF_KEY]) texts.push({ source: `spec.configuration.inline[${PGPOOL_CONF_KEY}]`, text: conf.inline[PGPOOL_CONF_KEY] });
  const parsed = pgpoolUserConfig(texts);
  if (parsed.errors.length) throw new Error(parsed.errors.join('; '));
  return parsed;
}

async function applyPgpool(info: KindInfo, ctx: ProvisionerContext, db: PgpoolDb, staged?: StagedTls | null): Promise<void> {
  const { kube } = ctx;
  const ref = dbRef(db);
  const version = await catalogEntry(kube, 'PgpoolVersion', db.spec.version);
  if (!version) throw new WaitFor(`PgpoolVersion ${db.spec.version} in the catalog`, 10_000);
  const authName = db.spec.authSecret?.name || authSecretName(ref.name);
  await createIfAbsent(kube, buildAuthSecret(info, ref, authName, PGPOOL_PCP_USER));
  // During an ops request the ops-manager owns the Certificates (and passes `staged`).
  if (staged === undefined) for (const c of pgpoolCertificates(info, db)) await kube.apply(c);
  // Pgpool with ssl = on and no certificate does not start: stage first.
  const material = staged === undefined ? await stageDatabase(ctx, db) : (staged ?? undefined);
  await kube.apply(buildStagedTlsSecret(info, ref, material) as k8s.KubernetesObject);
  await kube.apply(buildConfigSecret(info, ref, await pgpoolConfigFiles(ctx, db, material, version.version)));
  for (const s of buildServices({ info, db: ref, port: PGPOOL_PORT, portName: 'primary', roles: false })) await kube.apply(s as k8s.KubernetesObject);
  const sslMode = material ? pgpoolTlsView(db).sslMode : 'disable';
  await kube.apply(buildAppBinding({ info, db: ref, version: db.spec.version, port: PGPOOL_PORT, sslMode, authSecret: authName, caBundle: material?.['ca.crt'], clientCertSecret: certSecretNames(db).client }));
  await kube.apply(buildPgpoolStatefulSet({
      info,
      db: ref,
      image: version.image,
      user: versionUser(version.securityContext, POOLER_UID),
      replicas: db.spec.replicas ?? 1,
      podTemplate: db.spec.podTemplate,
    }) as k8s.KubernetesObject);
}

export function pgpoolProvisioner(info: KindInfo): KindProvisioner<PgpoolDb> {
  return {
    info,
    apply: (ctx, db, staged) => applyPgpool(info, ctx, db, staged),
    stage: (ctx, db, extraCas = []) => stageDatabase(ctx, db, extraCas),
    health: (ctx, db, pods) => poolerHealth(db, pods, PGPOOL_PORT, ctx.kube),
    certificates: (db) => pgpoolCertificates(info, db),
    secretsOf: databaseSecrets,
  };
}
