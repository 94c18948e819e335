// The saved configuration of one local cluster: its ports and the component
// versions it was created with. Written on the first `pgtls up`, read by every
// later command, so `down`, `status` and a second `up` agree on what runs where.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Versions } from './versions.ts';

export interface Ports {
  apiserver: number;
  etcdClient: number;
  etcdPeer: number;
  controllerManager: number;
  scheduler: number;
  certManagerMetrics: number;
}

export interface ClusterConfig {
  name: string;
  /** Every listener binds here; loopback only. */
  host: string;
  ports: Ports;
  versions: Versions;
  serviceClusterIpRange: string;
  /** What runs pods: pgtls's node agent (default) or the real kubelet with containerd (`up --runtime kubelet`). */
  runtime?: 'node-agent' | 'kubelet';
}

export const DEFAULT_PORT_BASE = 16443;

export function portsFrom(base: number): Ports {
  if (!Number.isInteger(base) || base < 1024 || base > 65000) {
    throw new Error(`port base must be an integer from 1024 to 65000, got ${base}`);
  }
  return {
    apiserver: base,
    etcdClient: base + 1,
    etcdPeer: base + 2,
    controllerManager: base + 3,
    scheduler: base + 4,
    certManagerMetrics: base + 5,
  };
}

export function newClusterConfig(versions: Versions, portBase = DEFAULT_PORT_BASE): ClusterConfig {
  return {
    name: 'pgtls',
    host: '127.0.0.1',
    ports: portsFrom(portBase),
    versions,
    // Data only: Service ClusterIPs are allocated from it, nothing ever connects there.
    serviceClusterIpRange: '10.96.0.0/16',
  };
}

export function readClusterConfig(file: string): ClusterConfig | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterConfig;
}

export function writeClusterConfig(file: string, cfg: ClusterConfig): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(cfg, null, 2) + '\n');
}
