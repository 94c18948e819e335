// What the operator may do: a ClusterRole for what it does wherever databases
// live, and a Role in its own namespace for what only it owns there (its
// leader Lease, the webhook's Issuers, the readiness dry run). The local
// cluster binds both to the operator's client-certificate user,
// deploy/rbac.yaml (generated from this, `npm run gen`) to a ServiceAccount.
// The e2e tests run the operator with exactly these roles, so a missing
// permission fails a test; test/unit/operator/rbac.test.ts fails on a rule
// that docs/security.md does not list (with why), or on any wildcard.
//
// Least privilege, rule by rule: only verbs the code calls; objects the
// operator owns by fixed name are named with resourceNames (a server-side
// apply that creates an object is authorized as a create *with* the name, so
// named creates work for everything the operator applies); no namespace
// writes; Secrets without list/watch (the operator reads a Secret only by a
// name it derives from a database it reconciles).
import type { KubeObject } from '../kube/api.ts';
import { buildCrds } from '../api/crds.ts';
import { DEFAULT_CATALOG } from '../api/default-catalog.ts';

export const OPERATOR_USER = 'pgtls:operator';
export const OPERATOR_NAMESPACE = 'pgtls-system';
export const OPERATOR_SERVICE_ACCOUNT = 'pgtls-operator';
export const OPERATOR_ROLE = 'pgtls:operator';

/** Objects the operator owns by fixed name (defaults of the CLI and the webhook code). */
export const OWNED_NAMES = {
  lease: 'pgtls-operator',
  webhookConfigurations: { mutating: 'pgtls-mutators', validating: 'pgtls-validators' },
  /** The Postgres a server-side dry run creates to check that the API server calls the webhook. */
  webhookProbe: 'pgtls-webhook-probe',
} as const;

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const DB_KINDS = ['postgreses', 'pgbouncers', 'pgpools'];
const OPS_KINDS = ['postgresopsrequests', 'pgbounceropsrequests', 'pgpoolopsrequests'];
const sub = (kinds: string[], s: string) => kinds.map((k) => `${k}/${s}`);

/** The cluster-wide rules: databases live in any namespace. */
export function operatorClusterRules(): PolicyRule[] {
  const crdNames = buildCrds().map((c) => c.metadata.name);
  const catalog = (kind: string) => DEFAULT_CATALOG.filter((o) => o.kind === kind).map((o) => o.metadata?.name ?? '');
  const catalogNames = [...new Set(['PostgresVersion', 'PgBouncerVersion', 'PgpoolVersion'].flatMap(catalog))];
  return [
    // The KubeDB API: reconcile databases and ops requests, record conditions.
    { apiGroups: ['kubedb.com'], resources: DB_KINDS, verbs: ['get', 'list', 'watch', 'patch'] },
    { apiGroups: ['kubedb.com'], resources: sub(DB_KINDS, 'status'), verbs: ['patch'] },
    // Owner references with blockOwnerDeletion need update on the owner's finalizers
    // (OwnerReferencesPermissionEnforcement, on in OpenShift and many distributions).
    { apiGroups: ['kubedb.com'], resources: sub(DB_KINDS, 'finalizers'), verbs: ['update'] },
    { apiGroups: ['ops.kubedb.com'], resources: OPS_KINDS, verbs: ['get', 'list', 'watch', 'patch'] },
    { apiGroups: ['ops.kubedb.com'], resources: sub(OPS_KINDS, 'status'), verbs: ['patch'] },
    // Ops requests hold a finalizer while they run (deleting one in progress rolls back first).
    { apiGroups: ['ops.kubedb.com'], resources: sub(OPS_KINDS, 'finalizers'), verbs: ['update'] },
    // Admission asks whether the requesting user may read Secrets where a pooler's backend lives.
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    { apiGroups: ['catalog.kubedb.com'], resources: ['postgresversions', 'pgbouncerversions', 'pgpoolversions'], verbs: ['get', 'list'] },
    // --install-crds: only pgtls's own CRDs and catalog entries, by name.
    { apiGroups: ['catalog.kubedb.com'], resources: ['postgresversions', 'pgbouncerversions', 'pgpoolversions'], verbs: ['create', 'patch'], resourceNames: catalogNames },
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get', 'create', 'patch'], resourceNames: crdNames },
    // Each database's AppBinding (connection details for other tools), applied as KubeDB writes it;
    // owned by the database, so the garbage collector deletes it.
    { apiGroups: ['appcatalog.appscode.com'], resources: ['appbindings'], verbs: ['get', 'create', 'patch'] },
    // Its own webhook configurations (the caBundle is rewritten when the CA renews).
    {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
      verbs: ['get', 'create', 'patch'],
      resourceNames: [OWNED_NAMES.webhookConfigurations.mutating, OWNED_NAMES.webhookConfigurations.validating],
    },
    // Secrets: auth, config and staged TLS Secrets of each database, cert-manager's
    // Secrets it stages from, a pooler's backend credentials. Listed only by label selector:
    // KubeDB's syncUsers Secrets of a backend, and an ops request's own last-working copy. Never watched.
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'create', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'create', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list', 'delete'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch', 'delete'] },
    // Engine reloads (pg_ctl reload, PgBouncer RELOAD): exec over a websocket is a get that also needs create.
    { apiGroups: [''], resources: ['pods/exec'], verbs: ['get', 'create'] },
    // Pods restarted for a TLS change are evicted, as KubeDB's ops-manager does (PodDisruptionBudgets hold).
    { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
    { apiGroups: [''], resources: ['events'], verbs: ['get', 'create', 'patch'] },
    { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
    // Database certificates; status is patched to ask cert-manager for a new one (rotate).
    { apiGroups: ['cert-manager.io'], resources: ['certificates'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
    { apiGroups: ['cert-manager.io'], resources: ['certificates/status'], verbs: ['patch'] },
    // Admission checks that an issuer exists.
    { apiGroups: ['cert-manager.io'], resources: ['issuers', 'clusterissuers'], verbs: ['get'] },
    // A database's own client CA (a self-signed Issuer and a CA Issuer in its namespace), the webhook's serving certificate's.
    { apiGroups: ['cert-manager.io'], resources: ['issuers'], verbs: ['create', 'patch'] },
  ];
}

/** The rules in the operator's own namespace: what it alone owns there. */
export function operatorNamespaceRules(): PolicyRule[] {
  return [
    // Leader election: the Lease is created once (a create cannot be named), then only ours is touched.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'patch'], resourceNames: [OWNED_NAMES.lease] },
    // The readiness check: a server-side dry run of this Postgres must be refused by our webhook.
    { apiGroups: ['kubedb.com'], resources: ['postgreses'], verbs: ['create'], resourceNames: [OWNED_NAMES.webhookProbe] },
  ];
}

export function operatorClusterRole(): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: OPERATOR_ROLE }, rules: operatorClusterRules() } as KubeObject;
}

export function operatorNamespaceRole(namespace = OPERATOR_NAMESPACE): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: OPERATOR_ROLE, namespace }, rules: operatorNamespaceRules() } as KubeObject;
}

export type OperatorSubject = { user: string } | { serviceAccount: { namespace: string; name: string } };

function subjectOf(subject: OperatorSubject) {
  return 'user' in subject
    ? { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: subject.user }
    : { kind: 'ServiceAccount', name: subject.serviceAccount.name, namespace: subject.serviceAccount.namespace };
}

function bindingName(subject: OperatorSubject): string {
  return 'user' in subject ? OPERATOR_ROLE : `${OPERATOR_ROLE}:${subject.serviceAccount.namespace}:${subject.serviceAccount.name}`;
}

export function operatorClusterRoleBinding(subject: OperatorSubject): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: bindingName(subject) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPERATOR_ROLE },
    subjects: [subjectOf(subject)],
  } as KubeObject;
}

export function operatorRoleBinding(subject: OperatorSubject, namespace = OPERATOR_NAMESPACE): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: bindingName(subject), namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: OPERATOR_ROLE },
    subjects: [subjectOf(subject)],
  } as KubeObject;
}

/**
 * Everything an administrator applies before the operator starts: its
 * namespace (the operator may not create or label namespaces), both roles and
 * their bindings.
 */
export function operatorRbac(subject: OperatorSubject, namespace = OPERATOR_NAMESPACE): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    operatorClusterRole(),
    operatorClusterRoleBinding(subject),
    operatorNamespaceRole(namespace),
    operatorRoleBinding(subject, namespace),
  ];
}

/** What deploy/rbac.yaml holds: the namespace, a ServiceAccount, the roles and their bindings. */
export function deployRbac(): KubeObject[] {
  const sa = { namespace: OPERATOR_NAMESPACE, name: OPERATOR_SERVICE_ACCOUNT };
  const [ns, ...rest] = operatorRbac({ serviceAccount: sa });
  return [ns!, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa.name, namespace: sa.namespace } }, ...rest];
}
