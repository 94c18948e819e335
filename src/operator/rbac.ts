// What the operator may do, as one ClusterRole: the local cluster binds it to
// the operator's client-certificate user, deploy/rbac.yaml (generated from
// this, `npm run gen`) to a ServiceAccount. The e2e tests run the operator
// with exactly this role, so a missing permission fails a test.
import type { KubeObject } from '../kube/client.ts';

export const OPERATOR_USER = 'pgtls:operator';
export const OPERATOR_NAMESPACE = 'pgtls-system';
export const OPERATOR_SERVICE_ACCOUNT = 'pgtls-operator';

const ALL = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch'];

export function operatorClusterRole(): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'pgtls:operator' },
    rules: [
      // The KubeDB API: databases and ops requests (and their status), the catalog, the CRDs (--install-crds).
      { apiGroups: ['kubedb.com'], resources: ['postgreses', 'pgbouncers', 'pgpools', 'postgreses/status', 'pgbouncers/status', 'pgpools/status', 'postgreses/finalizers', 'pgbouncers/finalizers', 'pgpools/finalizers'], verbs: ALL },
      {
        apiGroups: ['ops.kubedb.com'],
        resources: ['postgresopsrequests', 'pgbounceropsrequests', 'pgpoolopsrequests', 'postgresopsrequests/status', 'pgbounceropsrequests/status', 'pgpoolopsrequests/status', 'postgresopsrequests/finalizers', 'pgbounceropsrequests/finalizers', 'pgpoolopsrequests/finalizers'],
        verbs: ALL,
      },
      { apiGroups: ['catalog.kubedb.com'], resources: ['postgresversions', 'pgbouncerversions', 'pgpoolversions'], verbs: WRITE },
      // Each database's AppBinding (connection details for other tools), as KubeDB writes it.
      { apiGroups: ['appcatalog.appscode.com'], resources: ['appbindings'], verbs: ALL },
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: WRITE },
      // Its own admission webhook, registered with the CA bundle of its cert-manager certificate.
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'], verbs: WRITE },
      // What the provisioner owns, and what the ops-manager reads and restarts.
      { apiGroups: [''], resources: ['secrets', 'services', 'configmaps', 'persistentvolumeclaims', 'serviceaccounts'], verbs: ALL },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'create', 'update', 'patch'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['get', 'list', 'create', 'update', 'patch'] },
      { apiGroups: ['apps'], resources: ['statefulsets', 'statefulsets/status'], verbs: ALL },
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ALL },
      // Leader election.
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ALL },
      // Certificates of the databases and of the webhook; Issuers are read (and made for the webhook).
      { apiGroups: ['cert-manager.io'], resources: ['certificates', 'certificates/status', 'certificaterequests', 'issuers', 'clusterissuers'], verbs: ALL },
    ],
  } as KubeObject;
}

export function operatorClusterRoleBinding(subject: { user: string } | { serviceAccount: { namespace: string; name: string } }): KubeObject {
  const s = 'user' in subject
    ? { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: subject.user }
    : { kind: 'ServiceAccount', name: subject.serviceAccount.name, namespace: subject.serviceAccount.namespace };
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'user' in subject ? 'pgtls:operator' : `pgtls:operator:${subject.serviceAccount.namespace}:${subject.serviceAccount.name}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pgtls:operator' },
    subjects: [s],
  } as KubeObject;
}

/** What deploy/rbac.yaml holds: the namespace, a ServiceAccount, the role and its binding. */
export function deployRbac(): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: OPERATOR_SERVICE_ACCOUNT, namespace: OPERATOR_NAMESPACE } },
    operatorClusterRole(),
    operatorClusterRoleBinding({ serviceAccount: { namespace: OPERATOR_NAMESPACE, name: OPERATOR_SERVICE_ACCOUNT } }),
  ];
}
