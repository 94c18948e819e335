// kube-apiserver's --egress-selector-config-file: the `cluster` egress
// (webhooks by Service, kubelets, pod and Service proxy) and the
// `controlplane` egress (webhooks by URL, authentication webhooks) go through
// the gateway's unix socket as HTTP CONNECT, so the gateway's rule decides
// every address the API server dials for others; `etcd` stays direct.
import { join } from 'node:path';
import { stringify } from 'yaml';

/** The API server's egress socket in a pgtls home, also the gateway's health and control endpoint. */
export const egressSocketPath = (layout: { home: string }) => join(layout.home, 'run', 'egress.sock');

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
    egressSelections: ['cluster', 'controlplane'].map((name) => ({ name, connection: { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: socketPath } } } })),
  });
}
