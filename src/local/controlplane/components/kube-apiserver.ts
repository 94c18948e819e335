import type { Component } from '../component.ts';
import type { ClusterConfig } from '../config.ts';
import type { PkiFiles } from '../pki.ts';

/**
 * With `egressSelectorConfigFile`, every call the API server makes into the
 * cluster (webhooks, kubelets, pod and Service proxy) goes through the net
 * gateway's socket, which dials cluster addresses inside the node namespace.
 */
export function buildKubeApiserver(cfg: ClusterConfig, pki: PkiFiles, binary: string, egressSelectorConfigFile?: string, admissionConfigFile?: string): Component {
  const { host, ports } = cfg;
  return {
    name: 'kube-apiserver',
    binary,
    links: ['etcd'],
    ports: [ports.apiserver],
    args: [
      `--bind-address=${host}`,
      `--advertise-address=${host}`,
      `--secure-port=${ports.apiserver}`,
      // Endpoints may not hold loopback addresses, and the API server listens on loopback only:
      // the `kubernetes` Service gets no Endpoints; the net gateway serves its ClusterIP inside the node namespace.
      '--endpoint-reconciler-type=none',
      `--etcd-servers=https://${host}:${ports.etcdClient}`,
      `--etcd-cafile=${pki.caCert}`,
      `--etcd-certfile=${pki.cert('apiserver-etcd-client')}`,
      `--etcd-keyfile=${pki.key('apiserver-etcd-client')}`,
      `--client-ca-file=${pki.caCert}`,
      `--tls-cert-file=${pki.cert('kube-apiserver')}`,
      `--tls-private-key-file=${pki.key('kube-apiserver')}`,
      `--kubelet-client-certificate=${pki.cert('apiserver-kubelet-client')}`,
      `--kubelet-client-key=${pki.key('apiserver-kubelet-client')}`,
      `--kubelet-certificate-authority=${pki.caCert}`,
      '--authorization-mode=Node,RBAC',
      '--anonymous-auth=false',
      `--service-cluster-ip-range=${cfg.serviceClusterIpRange}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
      ...(egressSelectorConfigFile ? [`--egress-selector-config-file=${egressSelectorConfigFile}`] : []),
      // Webhook calls carry a client certificate (webhook-client.ts).
      ...(admissionConfigFile ? [`--admission-control-config-file=${admissionConfigFile}`] : []),
    ],
    health: {
      url: `https://${host}:${ports.apiserver}/readyz`,
      ca: pki.caCert,
      clientCert: pki.cert('admin'),
      clientKey: pki.key('admin'),
    },
  };
}
