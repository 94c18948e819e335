// Component versions, read from go/versions.env so the Go build and the
// TypeScript runtime can never disagree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaryCache } from '../home.ts';
import { repoRoot } from '../../util/repo.ts';

export interface Versions {
  kubernetes: string;
  etcd: string;
  certManager: string;
}

export function loadVersions(): Versions {
  const text = readFileSync(join(repoRoot(), 'go', 'versions.env'), 'utf8');
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(\S+)/.exec(line.trim());
    if (m) vars.set(m[1]!, m[2]!);
  }
  const get = (k: string): string => {
    const v = vars.get(k);
    if (!v) throw new Error(`go/versions.env: ${k} is not set`);
    return v;
  };
  return { kubernetes: get('KUBERNETES_VERSION'), etcd: get('ETCD_VERSION'), certManager: get('CERT_MANAGER_VERSION') };
}

export interface BinaryPaths {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  certManager: string;
  certManagerCrds: string;
}

export function binaryPaths(v: Versions, cache = binaryCache()): BinaryPaths {
  const at = (name: string, ver: string) => join(cache, `${name}-${ver}`, name);
  return {
    etcd: at('etcd', v.etcd),
    kubeApiserver: at('kube-apiserver', v.kubernetes),
    kubeControllerManager: at('kube-controller-manager', v.kubernetes),
    kubeScheduler: at('kube-scheduler', v.kubernetes),
    certManager: at('cert-manager-controller', v.certManager),
    certManagerCrds: join(cache, `cert-manager-controller-${v.certManager}`, 'crds'),
  };
}
