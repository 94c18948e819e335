// Postgres: auth secret, Certificates, config secret, Services and the
// StatefulSet; a fixed primary (ordinal 0) with streaming standbys.
import { k8s } from '../../kube/client.ts';
import { authSecretName } from '../../api/shared/names.ts';
import type { Postgres } from '../../api/kubedb.com/v1/postgres.ts';
import { probeTls } from '../../engines/shared/probe.ts';
import type { ClientAuthMode, SslMode } from '../../engines/types.ts';
import type { KindInfo } from '../../kinds/info.ts';
import { WaitFor, type ProvisionerContext } from '../context.ts';
import { catalogEntry, createIfAbsent, ordinal, podReady, readSecret } from '../objects.ts';
import { dbRef, type DbObject, type Health, type KindProvisioner } from '../reconciler.ts';
import { buildAuthSecret, buildConfigSecret } from '../specs/secrets.ts';
import { buildStagedTlsSecret, type StagedTls } from '../specs/tls-staging.ts';
import { certSecretNames, databaseCertificates, databaseSecrets, stageDatabase } from '../tls.ts';
import { buildAppBinding } from '../specs/appbinding.ts';
import { buildServices, ROLE_LABEL } from '../specs/services.ts';
import { PG_PORT, renderPostgresFiles } from './config.ts';
import { usesOwnClientCa } from '../specs/client-ca.ts';
import { dialPod } from '../dial.ts';
import { buildPostgresStatefulSet } from './statefulset.ts';
import { versionUser } from '../specs/pod-template.ts';

/** The postgres user of the Debian-based images (Docker's official and ours), when a catalog version names none. */
export const POSTGRES_UID = 999;

export type PgDb = Postgres & DbObject;

export function postgresTlsView(db: Postgres): { sslMode: SslMode; clientAuthMode: ClientAuthMode } {
  const sslMode = (db.spec.sslMode ?? (db.spec.tls ? 'verify-full' : 'disable')) as SslMode;
  const major = Number.parseInt(db.spec.version, 10);
  const clientAuthMode = (db.spec.clientAuthMode ?? (major >= 18 ? 'scram' : 'md5')) as ClientAuthMode;
  return { sslMode, clientAuthMode };
}

/**
 * Certificates the TLS spec asks for; the server certificate also covers the
 * standby Service. On a ClusterIssuer the client certificates come from a CA of
 * the database's own (specs/client-ca.ts): the marker in their subject is
 * something anyone who may ask that ClusterIssuer directly could put there too.
 */
export const postgresCertificates = (info: KindInfo, db: Postgres) => databaseCertificates(info, db, { extraServices: [`${db.metadata!.name}-standby`], ownClientCa: true });

/** Everything the database needs; TLS files come only from checked material. */
async function applyPostgres(info: KindInfo, ctx: ProvisionerContext, db: PgDb, staged?: StagedTls | null): Promise<void> {
  const { kube } = ctx;
  const ref = dbRef(db);
  const version = await catalogEntry(kube, 'PostgresVersion', db.spec.version);
  if (!version) throw new WaitFor(`PostgresVersion ${db.spec.version} in the catalog`, 10_000);
  const authName = db.spec.authSecret?.name || authSecretName(ref.name);
  await createIfAbsent(kube, buildAuthSecret(info, ref, authName, 'postgres'));
  const auth = await readSecret(kube, ref.namespace, authName);
  if (!auth?.password) throw new WaitFor(`secret ${authName} with a password`);
  const services = buildServices({ info, db: ref, port: PG_PORT, portName: 'primary', roles: true });
  // During an ops request the ops-manager owns the Certificates (and passes `staged`).
  if (staged === undefined) for (const c of postgresCertificates(info, db)) await kube.apply(c);
  // PostgreSQL will not start with ssl=on and no certificate: stage before rendering.
  const material = staged === undefined ? await stageDatabase(ctx, db) : (staged ?? undefined);
  const view = material ? { ...postgresTlsView(db), ownClientCa: usesOwnClientCa(db.spec.tls) } : { ...postgresTlsView(db), sslMode: 'disable' as SslMode };
  await kube.apply(buildStagedTlsSecret(info, ref, material) as k8s.KubernetesObject);
  await kube.apply(buildConfigSecret(info, ref, renderPostgresFiles(ref, view, auth.password)));
  for (const s of services) await kube.apply(s as k8s.KubernetesObject);
  await kube.apply(buildAppBinding({ info, db: ref, version: db.spec.version, port: PG_PORT, sslMode: view.sslMode, authSecret: authName, caBundle: material?.['ca.crt'], clientCertSecret: certSecretNames(db).client }));
  await kube.apply(
    buildPostgresStatefulSet({
      info,
      db: ref,
      image: version.image,
      user: versionUser(version.securityContext, POSTGRES_UID),
      replicas: db.spec.replicas ?? 1,
      authSecret: authName,
      podTemplate: db.spec.podTemplate,
      storage: db.spec.storage as Record<string, unknown> | undefined,
      ephemeral: db.spec.storageType === 'Ephemeral',
    }) as k8s.KubernetesObject,
  );
}

/** Labels pods with their role (what pg-coordinator does in KubeDB) and probes the primary. */
async function healthPostgres(ctx: ProvisionerContext, db: PgDb, pods: k8s.V1Pod[]): Promise<Health> {
  for (const p of pods) {
    const role = ordinal(p) === 0 ? 'primary' : 'standby';
    if (p.metadata?.labels?.[ROLE_LABEL] !== role) {
      await ctx.kube.patch({ apiVersion: 'v1', kind: 'Pod', name: p.metadata!.name!, namespace: p.metadata!.namespace }, { metadata: { labels: { [ROLE_LABEL]: role } } });
    }
  }
  const ready = pods.filter(podReady);
  const replicas = db.spec.replicas ?? 1;
  const primary = pods.find((p) => ordinal(p) === 0);
  let accepting = false;
  let message: string | undefined;
  if (primary?.status?.podIP && podReady(primary)) {
    const r = await probeTls(dialPod(ctx.kube, primary.status.podIP, PG_PORT), { timeoutMs: 2000 });
    accepting = r.kind !== 'error';
    if (r.kind === 'error') message = `primary ${primary.metadata!.name}: ${r.error}`;
  } else {
    message = 'the primary pod is not ready';
  }
  return { replicasReady: ready.length >= replicas, readyReplicas: ready.length, accepting, message };
}

export function postgresProvisioner(info: KindInfo): KindProvisioner<PgDb> {
  return {
    info,
    apply: (ctx, db, staged) => applyPostgres(info, ctx, db, staged),
    stage: (ctx, db, extraCas = []) => stageDatabase(ctx, db, extraCas),
    health: healthPostgres,
    certificates: (db) => postgresCertificates(info, db),
    secretsOf: databaseSecrets,
  };
}
