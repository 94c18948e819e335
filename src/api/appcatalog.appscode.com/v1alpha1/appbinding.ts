// AppBinding (appcatalog.appscode.com/v1alpha1, kmodules custom-resources
// apis/appcatalog/v1alpha1/appbinding_types.go): how other tools (backup,
// monitoring, PgBouncer/Pgpool in KubeDB) find a database's address, its
// credentials and the CA that verifies it. No status, as in KubeDB's CRD.
import { Type, type Static } from '@sinclair/typebox';
import { ObjectMeta } from '../../shared/meta.ts';
import { Int32, Opaque } from '../../shared/schema.ts';
import { LocalObjectReference } from '../../shared/refs.ts';

/** kmapi TypedObjectReference: the database this binding describes. */
export const TypedObjectReference = Type.Object({
  apiGroup: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  name: Type.String(),
});

export const ServiceReference = Type.Object({
  /** `postgresql`: clients build `<scheme>://<name>.<namespace>.svc:<port><path>?<query>`. */
  scheme: Type.String(),
  namespace: Type.Optional(Type.String()),
  name: Type.String(),
  port: Int32(),
  path: Type.Optional(Type.String()),
  /** `sslmode=<mode>`, exactly (KubeDB's consumers parse this form). */
  query: Type.Optional(Type.String()),
});

export const ClientConfig = Type.Object({
  url: Type.Optional(Type.String()),
  service: Type.Optional(ServiceReference),
  insecureSkipTLSVerify: Type.Optional(Type.Boolean()),
  /** PEM CA bundle, base64 in JSON ([]byte in Go), that verifies the server certificate. */
  caBundle: Type.Optional(Type.String({ format: 'byte' })),
  serverName: Type.Optional(Type.String()),
});

const SecretTransform = Opaque();

export const AppBindingSpec = Type.Object({
  type: Type.Optional(Type.String()),
  appRef: Type.Optional(TypedObjectReference),
  version: Type.Optional(Type.String()),
  clientConfig: ClientConfig,
  /** Credentials (username, password). */
  secret: Type.Optional(LocalObjectReference),
  secretTransforms: Type.Optional(Type.Array(SecretTransform)),
  parameters: Type.Optional(Opaque()),
  /** Client certificate and key (tls.crt, tls.key, ca.crt). */
  tlsSecret: Type.Optional(LocalObjectReference),
});
export type AppBindingSpec = Static<typeof AppBindingSpec>;

export const AppBinding = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: Type.Optional(ObjectMeta),
  spec: AppBindingSpec,
});
export type AppBinding = Static<typeof AppBinding>;
