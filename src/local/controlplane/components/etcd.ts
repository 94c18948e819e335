import { join } from 'node:path';
import type { Component } from '../component.ts';
import type { ClusterConfig } from '../config.ts';
import type { PkiFiles } from '../pki.ts';

export function buildEtcd(cfg: ClusterConfig, pki: PkiFiles, binary: string, dataDir: string): Component {
  const { host, ports } = cfg;
  const client = `https://${host}:${ports.etcdClient}`;
  const peer = `http://${host}:${ports.etcdPeer}`;
  return {
    name: 'etcd',
    binary,
    links: [],
    ports: [ports.etcdClient, ports.etcdPeer],
    args: [
      '--name=pgtls',
      `--data-dir=${join(dataDir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=pgtls=${peer}`,
      '--initial-cluster-state=new',
      `--cert-file=${pki.cert('etcd')}`,
      `--key-file=${pki.key('etcd')}`,
      `--trusted-ca-file=${pki.caCert}`,
      '--client-cert-auth=true',
      '--quota-backend-bytes=2147483648',
      '--log-level=warn',
    ],
    health: {
      url: `${client}/health`,
      ca: pki.caCert,
      clientCert: pki.cert('apiserver-etcd-client'),
      clientKey: pki.key('apiserver-etcd-client'),
    },
  };
}
