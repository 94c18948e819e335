// `pgtls up --runtime kubelet`: the hooks `up` and `down` call around the
// kubelet runtime's components. Deciding lives in the pure modules (configs,
// components, coredns); this file acts on the machine, in order:
//   before etcd           preflight
//   before the provisioner   certificates, config files, OCI archives
//   before containerd     node network namespace (the net gateway's, checked), private mount namespace, cgroup root
//   before kubelet        the images imported into containerd (the node's and the catalog's)
//   after up              CoreDNS
//   before containerd stops   every pod sandbox removed (CNI DEL, shims exit)
//   after down            leftovers killed, namespaces and cgroups removed
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { HomeLayout } from '../home.ts';
import type { Component } from '../controlplane/component.ts';
import type { ClusterConfig } from '../controlplane/config.ts';
import { ensurePki } from '../controlplane/pki.ts';
import { writeKubeconfig } from '../controlplane/kubeconfig.ts';
import { NODE_NAME } from '../controlplane/components/node-agent.ts';
import { conditionTrue, type Kube } from '../../kube/client.ts';
import { k8s } from '../../kube/client-node.ts';
import { NODE_IP } from '../net/topology.ts';
import { kubeletNodeLayout, type KubeletNodeLayout } from './layout.ts';
import { cniConfList, containerdConfig, crictlConfig, kubeletConfig, kubeProxyConfig } from './configs.ts';
import { adaptControlPlane, buildKubeletRuntime, DEBIAN_TOOLS, kubeletRuntimeBinaries, kubeletRuntimeVersions, type KubeletRuntimeBinaries } from './components.ts';
import { cgroupRootFor, createCgroupRoot, hierarchies, removeCgroupRoot } from './cgroups.ts';
import { deleteNetns, ensureMountNs, ensureNetns, hostCommand, netnsExists, processesInNode, releaseMountNs } from './namespaces.ts';
import { archivesIn, buildImageArchive, busyboxImage, corednsImage, ctrFor, imageRef, importArchive, importNamedArchive, pauseImage, type ImageSpec } from './images.ts';
import { provisionerRbac } from '../node/provisioner.ts';
import { importCatalogImages } from './catalog-images.ts';
import { corednsObjects, COREDNS_NAMESPACE } from './coredns.ts';

export type Log = (msg: string) => void;
export type Runtime = 'node-agent' | 'kubelet';
export const RUNTIMES: Runtime[] = ['node-agent', 'kubelet'];

export function parseRuntime(v: string | undefined): Runtime {
  if (v === undefined) return 'node-agent';
  if ((RUNTIMES as string[]).includes(v)) return v as Runtime;
  throw new Error(`--runtime must be one of ${RUNTIMES.join(', ')}; got "${v}"`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KUBE_PROXY_USER = 'system:kube-proxy'; // bound to system:node-proxier by the bootstrap policy
const PROVISIONER_USER = 'pgtls:local-path-provisioner'; // the identity `up` issues for the node agent's provisioner

interface HostState {
  cgroupRoot: string;
  createdCgroupDirs: string[];
}

function readHostState(node: KubeletNodeLayout): HostState | undefined {
  return existsSync(node.hostState) ? (JSON.parse(readFileSync(node.hostState, 'utf8')) as HostState) : undefined;
}

function paths(cfg: ClusterConfig, layout: HomeLayout) {
  const node = kubeletNodeLayout(layout, cfg);
  const bins = kubeletRuntimeBinaries(kubeletRuntimeVersions());
  const kubeconfigs = {
    kubelet: `${layout.kubeconfigs}/node-agent.kubeconfig`, // the same node identity as the node agent's
    kubeProxy: `${layout.kubeconfigs}/kube-proxy.kubeconfig`,
    provisioner: `${layout.kubeconfigs}/local-path-provisioner.kubeconfig`,
  };
  return { node, bins, kubeconfigs };
}

/** The component list of this runtime: the control plane adapted, the node agent replaced by the kubelet runtime's processes. */
export function kubeletRuntimeComponents(cfg: ClusterConfig, layout: HomeLayout, components: Component[]): Component[] {
  const { node, bins, kubeconfigs } = paths(cfg, layout);
  const adapted = adaptControlPlane(components.filter((c) => c.name !== 'node-agent'));
  const runtime = buildKubeletRuntime({
    cfg,
    node,
    bins,
    nodeName: NODE_NAME,
    kubeletKubeconfig: kubeconfigs.kubelet,
    kubeProxyKubeconfig: kubeconfigs.kubeProxy,
    provisioner: { kubeconfig: kubeconfigs.provisioner, volumesDir: join(layout.data, 'volumes') },
  });
  const at = adapted.findIndex((c) => c.name === 'operator');
  return at < 0 ? [...adapted, ...runtime] : [...adapted.slice(0, at), ...runtime, ...adapted.slice(at)];
}

/** What keeps the runtime from starting on this machine: empty when it can. */
export function preflight(bins: KubeletRuntimeBinaries = kubeletRuntimeBinaries(kubeletRuntimeVersions())): string[] {
  const failing: string[] = [];
  if (process.platform !== 'linux') failing.push(`needs Linux, this is ${process.platform}`);
  if (process.getuid?.() !== 0) failing.push('needs root (network and mount namespaces, cgroups)');
  for (const [name, file] of Object.entries(DEBIAN_TOOLS)) if (!existsSync(file)) failing.push(`${name}: ${file} is missing (node scripts/setup.mjs --kubelet-runtime installs it)`);
  for (const [name, file] of Object.entries(bins)) if (!existsSync(file)) failing.push(`${name}: ${file} is missing (node scripts/setup.mjs --kubelet-runtime builds it)`);
  for (const tool of ['ip', 'nsenter', 'unshare']) if (spawnSync(tool, ['-V']).error) failing.push(`${tool} is not on PATH`);
  if (hierarchies().length === 0) failing.push('no cgroup hierarchy under /sys/fs/cgroup');
  if (failing.length === 0) failing.push(...probeKernel());
  return failing;
}

/** Throwaway checks that the kernel lets us do what `up` does: new namespaces, a child cgroup. Leaves nothing behind. */
function probeKernel(): string[] {
  const failing: string[] = [];
  const ns = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', 'true'], { encoding: 'utf8' });
  if (ns.status !== 0) failing.push(`cannot create network and mount namespaces: unshare: ${(ns.stderr || ns.error?.message || '').trim()}`);
  const probe = `${cgroupRootFor(readFileSync('/proc/self/cgroup', 'utf8'), process.pid)}-probe`;
  try {
    const created = createCgroupRoot(probe);
    const left = removeCgroupRoot(probe, created);
    if (left.length > 0) failing.push(`cannot remove a probe cgroup: ${left.join('; ')}`);
  } catch (err) {
    failing.push(`cannot create a child cgroup under ${probe}: ${(err as Error).message}`);
  }
  return failing;
}

export interface HookContext {
  cfg: ClusterConfig;
  layout: HomeLayout;
  kube: Kube;
  log: Log;
  timeoutMs: number;
}

function nodeImages(bins: KubeletRuntimeBinaries): ImageSpec[] {
  const v = kubeletRuntimeVersions();
  return [pauseImage(bins.pause, v.pause), corednsImage(bins.coredns, v.coredns), busyboxImage(DEBIAN_TOOLS.busybox)];
}

export const corednsImageRef = () => `pgtls.local/coredns:${kubeletRuntimeVersions().coredns}`;
export const busyboxImageRef = () => imageRef(busyboxImage());

async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`kubelet runtime: ${what} not reached within ${Math.round(timeoutMs / 1000)}s`);
}

async function writeFiles(ctx: HookContext): Promise<void> {
  const { cfg, layout } = ctx;
  const { node, bins, kubeconfigs } = paths(cfg, layout);
  for (const d of [node.base, node.run, node.etc, node.imageDrop, node.staticPods, node.cniConfDir, node.cniIpamDir, node.podLogs, node.kubeletRoot]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const pki = await ensurePki(
    layout.pki,
    [{ name: 'kubelet-serving', commonName: `system:node:${NODE_NAME}`, dnsNames: [NODE_NAME], ipAddresses: [NODE_IP] }],
    [{ name: 'kube-proxy', commonName: KUBE_PROXY_USER }],
  );
  writeKubeconfig(kubeconfigs.kubeProxy, {
    server: `https://127.0.0.1:${cfg.ports.apiserver}`,
    caFile: pki.caCert,
    certFile: pki.cert('kube-proxy'),
    keyFile: pki.key('kube-proxy'),
    user: KUBE_PROXY_USER,
    clusterName: cfg.name,
  });
  const v = kubeletRuntimeVersions();
  const state = readHostState(node);
  const cgroupRoot = state?.cgroupRoot ?? cgroupRootFor(readFileSync('/proc/self/cgroup', 'utf8'), cfg.ports.apiserver);
  writeFileSync(node.containerdConfig, containerdConfig(node, { pauseVersion: v.pause }));
  writeFileSync(`${node.cniConfDir}/10-pgtls.conflist`, cniConfList(node));
  writeFileSync(
    node.kubeletConfig,
    kubeletConfig(node, {
      nodeName: NODE_NAME,
      pauseVersion: v.pause,
      cgroupRoot,
      clientCaFile: pki.caCert,
      servingCert: pki.cert('kubelet-serving'),
      servingKey: pki.key('kubelet-serving'),
    }),
  );
  writeFileSync(node.kubeProxyConfig, kubeProxyConfig(kubeconfigs.kubeProxy, NODE_NAME));
  writeFileSync(node.crictlConfig, crictlConfig(node));
  for (const spec of nodeImages(bins)) buildImageArchive(spec);
}

export async function beforeStart(name: string, ctx: HookContext): Promise<void> {
  const { cfg, layout, log } = ctx;
  const { node, bins } = paths(cfg, layout);
  if (name === 'etcd') {
    const failing = preflight(bins);
    if (failing.length > 0) throw new Error(`the kubelet runtime cannot start here:\n  ${failing.join('\n  ')}`);
  }
  if (name === 'local-path-provisioner') {
    await writeFiles(ctx);
    for (const o of provisionerRbac(PROVISIONER_USER)) await ctx.kube.apply(o);
  }
  if (name === 'containerd') {
    // `up` made the node namespace (src/local/net); this only confirms the bridge, address and Service route.
    ensureNetns(node.netns);
    ensureMountNs(node);
    if (!readHostState(node)) {
      const cgroupRoot = cgroupRootFor(readFileSync('/proc/self/cgroup', 'utf8'), cfg.ports.apiserver);
      const created = createCgroupRoot(cgroupRoot);
      writeFileSync(node.hostState, JSON.stringify({ cgroupRoot, createdCgroupDirs: created } satisfies HostState, null, 2));
    }
    log(`node namespaces ${node.netns} (net) and ${node.mountNs} (mount) ready`);
  }
  if (name === 'kubelet') {
    const ctr = ctrFor(node.containerdSock);
    const at = Date.now();
    for (const spec of nodeImages(bins)) if (importArchive(ctr, buildImageArchive(spec), imageRef(spec))) log(`imported ${imageRef(spec)}`);
    for (const file of archivesIn(node.imageDrop)) log(`imported ${file}: ${importNamedArchive(ctr, file)}`);
    // The database images the catalog names, so the operator's pods start without a registry.
    await importCatalogImages(ctr, log);
    log(`images present in containerd (${Date.now() - at} ms)`);
  }
}

export async function afterStart(name: string, ctx: HookContext): Promise<void> {
  const { cfg, layout, kube, timeoutMs } = ctx;
  const { node } = paths(cfg, layout);
  if (name === 'containerd') {
    const ctr = ctrFor(node.containerdSock);
    await waitFor('containerd answering', timeoutMs, () => {
      try {
        ctr(['version']);
        return true;
      } catch {
        return false;
      }
    });
  }
  if (name === 'kubelet') {
    const core = kube.api(k8s.CoreV1Api);
    await waitFor(`Node ${NODE_NAME} Ready`, timeoutMs, async () => {
      try {
        return conditionTrue(await core.readNode({ name: NODE_NAME }), 'Ready');
      } catch {
        return false;
      }
    });
  }
  if (name === 'kube-proxy') {
    // Its first full sync creates the KUBE-SERVICES chain in the namespace's nat table.
    await waitFor('kube-proxy synced', timeoutMs, () => {
      try {
        hostCommand('nsenter', [`--net=/run/netns/${node.netns}`, 'iptables', '-t', 'nat', '-n', '-L', 'KUBE-SERVICES']);
        return true;
      } catch {
        return false;
      }
    });
  }
}

/** CoreDNS, once the node runs pods. */
export async function afterUp(ctx: HookContext): Promise<void> {
  const { kube, log, timeoutMs } = ctx;
  const at = Date.now();
  for (const o of corednsObjects(corednsImageRef())) await kube.apply(o);
  await waitFor('CoreDNS available', timeoutMs, async () => {
    const d = await kube.get<{ status?: { availableReplicas?: number } } & k8s.KubernetesObject>('apps/v1', 'Deployment', 'coredns', COREDNS_NAMESPACE);
    return (d?.status?.availableReplicas ?? 0) >= 1;
  });
  log(`CoreDNS ready (${Date.now() - at} ms)`);
}

/** Before containerd stops: every sandbox stopped and removed, so CNI releases its addresses and the shims exit. */
export async function beforeStop(name: string, cfg: ClusterConfig, layout: HomeLayout, log: Log): Promise<void> {
  if (name !== 'containerd') return;
  const { node, bins } = paths(cfg, layout);
  if (!existsSync(node.containerdSock) || !existsSync(bins.crictl)) return;
  const r = spawnSync(bins.crictl, ['--config', node.crictlConfig, 'rmp', '--all', '--force'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) log(`removing pod sandboxes: ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
}

/** After every process is stopped: the host as it was before `up`. */
export async function afterDown(cfg: ClusterConfig, layout: HomeLayout, log: Log): Promise<void> {
  const { node } = paths(cfg, layout);
  const state = readHostState(node);
  // Whatever still runs in the node's namespaces or cgroups was started by this runtime (shims, containers).
  for (let round = 0; round < 20; round++) {
    const left = processesInNode(node, state?.cgroupRoot);
    if (left.length === 0) break;
    if (round === 0) log(`stopping ${left.length} leftover node process(es): ${left.join(' ')}`);
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(250);
  }
  releaseMountNs(node);
  if (netnsExists(node.netns)) {
    deleteNetns(node.netns);
    log(`removed network namespace ${node.netns}`);
  }
  if (state) {
    // A cgroup is removable only once its last task has exited: retry briefly.
    let failed: string[] = [];
    for (let i = 0; i < 20; i++) {
      failed = removeCgroupRoot(state.cgroupRoot, state.createdCgroupDirs);
      if (failed.length === 0) break;
      await sleep(250);
    }
    if (failed.length > 0) log(`could not remove cgroups:\n  ${failed.join('\n  ')}`);
    else rmSync(node.hostState, { force: true });
  }
  for (const s of [node.containerdSock, `${node.containerdSock}.ttrpc`]) rmSync(s, { force: true });
}

