// kube-apiserver's --egress-selector-config-file: the `cluster` egress (calls
// to webhooks, kubelets, pods and Services) goes through the gateway's unix
// socket as HTTP CONNECT; `controlplane` and `etcd` stay direct (loopback).
import { stringify } from 'yaml';

/** sun_path holds 108 bytes including the terminating NUL. */
export const MAX_UNIX_SOCKET_PATH = 107;

export function assertSocketPath(path: string): void {
  if (!path.startsWith('/')) throw new Error(`egress socket path must be absolute, got ${path}`);
  if (Buffer.byteLength(path) > MAX_UNIX_SOCKET_PATH) {
    throw new Error(`egress socket path ${path} is ${Buffer.byteLength(path)} bytes; a unix socket path may have at most ${MAX_UNIX_SOCKET_PATH} (use a shorter PGTLS_HOME)`);
  }
}

export function egressSelectorConfig(socketPath: string): string {
  assertSocketPath(socketPath);
  return stringify({
    apiVersion: 'apiserver.k8s.io/v1beta1',
    kind: 'EgressSelectorConfiguration',
    egressSelections: [{ name: 'cluster', connection: { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: socketPath } } } }],
  });
}
