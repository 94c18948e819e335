// PgBouncer: auth secret (the admin user), Certificates, config secret
// (ini, userlist from the backend's users, hba, backend CA), Services and the
// StatefulSet. The backend is the KubeDB Postgres in spec.database.databaseRef.
import { k8s } from '../../kube/client.ts';
import { authSecretName } from '../../api/shared/names.ts';
import type { PgBouncer } from '../../api/kubedb.com/v1/pgbouncer.ts';
import type { KindInfo } from '../../kinds/info.ts';
import { WaitFor, type ProvisionerContext } from '../context.ts';
import { resolveBackend } from '../backend.ts';
import { catalogImage, createIfAbsent, readSecret } from '../objects.ts';
import { dbRef, type DbObject, type KindProvisioner } from '../reconciler.ts';
import { poolerHealth } from './health.ts';
import { buildAuthSecret, buildConfigSecret } from '../specs/secrets.ts';
import { buildServices } from '../specs/services.ts';
import { buildStagedTlsSecret, type StagedTls } from '../specs/tls-staging.ts';
import { certSecretNames, databaseCertificates, databaseSecrets, stageDatabase } from '../tls.ts';
import { buildAppBinding } from '../specs/appbinding.ts';
import { PGBOUNCER_ADMIN_USER, pgbouncerPort, pgbouncerTlsView, renderPgBouncerFiles } from './config.ts';
import { buildPgBouncerStatefulSet } from './statefulset.ts';

export type PgBouncerDb = PgBouncer & DbObject;


/** The config secret's files as the spec and the backend say now (the ops-manager renders through this too). */
export async function pgbouncerConfigFiles(ctx: ProvisionerContext, db: PgBouncerDb, tlsOn = true): Promise<Record<string, string>> {
  const authName = db.spec.authSecret?.name || authSecretName(db.metadata.name!);
  const auth = await readSecret(ctx.kube, db.metadata.namespace!, authName);
  if (!auth?.password) throw new WaitFor(`secret ${authName} with a password`);
  const backend = await resolveBackend(ctx.kube, db.spec.database.databaseRef, db.metadata.namespace!);
  const view = tlsOn ? pgbouncerTlsView(db) : { ...pgbouncerTlsView(db), sslMode: 'disable' as const };
  return renderPgBouncerFiles(db, view, backend, { name: auth.username || PGBOUNCER_ADMIN_USER, password: auth.password });
}

async function applyPgBouncer(info: KindInfo, ctx: ProvisionerContext, db: PgBouncerDb, staged?: StagedTls | null): Promise<void> {
  const { kube } = ctx;
  const ref = dbRef(db);
  const image = await catalogImage(kube, 'PgBouncerVersion', db.spec.version);
  if (!image) throw new WaitFor(`PgBouncerVersion ${db.spec.version} in the catalog`, 10_000);
  const authName = db.spec.authSecret?.name || authSecretName(ref.name);
  await createIfAbsent(kube, buildAuthSecret(info, ref, authName, PGBOUNCER_ADMIN_USER));
  const port = pgbouncerPort(db);
  // During an ops request the ops-manager owns the Certificates (and passes `staged`).
  if (staged === undefined) for (const c of databaseCertificates(info, db)) await kube.apply(c);
  // PgBouncer refuses to start when client_tls_* names missing files: stage first.
  const material = staged === undefined ? await stageDatabase(ctx, db) : (staged ?? undefined);
  await kube.apply(buildStagedTlsSecret(info, ref, material) as k8s.KubernetesObject);
  await kube.apply(buildConfigSecret(info, ref, await pgbouncerConfigFiles(ctx, db, !!material)));
  for (const s of buildServices({ info, db: ref, port, portName: 'primary', roles: false })) await kube.apply(s as k8s.KubernetesObject);
  const sslMode = material ? pgbouncerTlsView(db).sslMode : 'disable';
  await kube.apply(buildAppBinding({ info, db: ref, version: db.spec.version, port, sslMode, authSecret: authName, caBundle: material?.['ca.crt'], clientCertSecret: certSecretNames(db).client }));
  await kube.apply(buildPgBouncerStatefulSet({ info, db: ref, image, replicas: db.spec.replicas ?? 1, port }) as k8s.KubernetesObject);
}

export function pgbouncerProvisioner(info: KindInfo): KindProvisioner<PgBouncerDb> {
  return {
    info,
    apply: (ctx, db, staged) => applyPgBouncer(info, ctx, db, staged),
    stage: (ctx, db, extraCas = []) => stageDatabase(ctx, db, extraCas),
    health: (ctx, db, pods) => poolerHealth(db, pods, pgbouncerPort(db), ctx.kube),
    certificates: (db) => databaseCertificates(info, db),
    secretsOf: databaseSecrets,
  };
}
