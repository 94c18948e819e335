// client-node as one namespace, for code outside the operator (the local
// cluster, the kubectl plugin, benches and tests) that uses its typed APIs.
// The operator's modules import names from client.ts instead: a namespace
// import keeps every generated class in the operator's bundle.
import * as k8s from '@kubernetes/client-node';

export { k8s };
