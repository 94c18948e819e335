// The AppBinding of a database, as KubeDB writes it: its type and version, the
// primary Service with `sslmode=<mode>` in the query, the credentials secret,
// and with TLS on the CA bundle that verifies the server and the client
// certificate's secret. Pure: derived from what the servers are given (the
// database as applied and its staged material), so it changes when they do.
import { APPBINDING, apiVersionOf } from '../../api/kinds.ts';
import type { AppBinding } from '../../api/appcatalog.appscode.com/v1alpha1/appbinding.ts';
import type { SslMode } from '../../engines/types.ts';
import type { KindInfo } from '../../kinds/info.ts';
import { offshootLabels } from '../../kinds/info.ts';
import { ownerReference, type DbRef } from './owner.ts';

export interface AppBindingInput {
  info: KindInfo;
  db: DbRef;
  version: string;
  port: number;
  /** What the servers enforce now: `disable` whenever no TLS material is staged. */
  sslMode: SslMode;
  authSecret: string;
  /** The staged trust bundle clients verify the server with (absent: TLS off). */
  caBundle?: string;
  /** The client certificate's secret (`<db>-client-cert`), set with TLS on. */
  clientCertSecret?: string;
  /** URL path: `/<database>` where clients must name one (PgBouncer's pooled database). */
  path?: string;
}

export const APPBINDING_SCHEME = 'postgresql';

/** `kubedb.com/postgres`, `kubedb.com/pgbouncer`, `kubedb.com/pgpool`. */
export function appBindingType(info: KindInfo): string {
  return `kubedb.com/${info.kind.toLowerCase()}`;
}

export function buildAppBinding(i: AppBindingInput): AppBinding & { metadata: { name: string; namespace: string } } {
  const tls = i.sslMode !== 'disable' && !!i.caBundle;
  return {
    apiVersion: apiVersionOf(APPBINDING),
    kind: APPBINDING.kind,
    metadata: {
      name: i.db.name,
      namespace: i.db.namespace,
      labels: offshootLabels(i.info, i.db.name),
      ownerReferences: [ownerReference(i.info, i.db)],
    },
    spec: {
      type: appBindingType(i.info),
      appRef: { apiGroup: i.info.apiVersion.split('/')[0], kind: i.info.kind, namespace: i.db.namespace, name: i.db.name },
      version: i.version,
      clientConfig: {
        service: {
          name: i.db.name,
          scheme: APPBINDING_SCHEME,
          port: i.port,
          path: i.path ?? '/',
          query: `sslmode=${tls ? i.sslMode : 'disable'}`,
        },
        // Server-side apply drops what we stop sending: removing TLS removes the CA and the client secret.
        ...(tls ? { caBundle: Buffer.from(i.caBundle!).toString('base64') } : {}),
      },
      secret: { name: i.authSecret },
      ...(tls && i.clientCertSecret ? { tlsSecret: { name: i.clientCertSecret } } : {}),
    },
  };
}

/** What a client reads back: host, port, database, sslmode, the CA's PEM and the secrets. */
export interface AppBindingConnection {
  service: string;
  namespace: string;
  host: string;
  port: number;
  database?: string;
  sslMode: string;
  caPem?: string;
  secret?: string;
  tlsSecret?: string;
}

/** Reads an AppBinding as KubeDB's consumers do; throws naming the field that is missing or malformed. */
export function appBindingConnection(ab: { metadata?: { namespace?: string }; spec?: Partial<AppBinding['spec']> }): AppBindingConnection {
  const svc = ab.spec?.clientConfig?.service;
  if (!svc?.name || !svc.port) throw new Error('spec.clientConfig.service: name and port are required');
  const namespace = svc.namespace || ab.metadata?.namespace || 'default';
  const m = /^sslmode=([a-z-]+)$/.exec(svc.query ?? 'sslmode=disable');
  if (!m) throw new Error(`spec.clientConfig.service.query: expected sslmode=<mode>, got ${JSON.stringify(svc.query)}`);
  const ca = ab.spec?.clientConfig?.caBundle;
  const database = svc.path && svc.path !== '/' ? svc.path.replace(/^\//, '') : undefined;
  return {
    service: svc.name,
    namespace,
    host: `${svc.name}.${namespace}.svc`,
    port: svc.port,
    ...(database ? { database } : {}),
    sslMode: m[1]!,
    ...(ca ? { caPem: Buffer.from(ca, 'base64').toString('utf8') } : {}),
    ...(ab.spec?.secret?.name ? { secret: ab.spec.secret.name } : {}),
    ...(ab.spec?.tlsSecret?.name ? { tlsSecret: ab.spec.tlsSecret.name } : {}),
  };
}
