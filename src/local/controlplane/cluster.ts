// `pgtls up`, `down` and `status` for the local control plane: compute the
// component records from the saved configuration, then start them in link
// order (or stop them in reverse), waiting on each one's health check.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HomeLayout } from '../home.ts';
import { Kube } from '../../kube/client.ts';
import type { Component } from './component.ts';
import { type ClusterConfig, newClusterConfig, readClusterConfig, writeClusterConfig } from './config.ts';
import { ensurePki, pkiFiles, type PkiFiles } from './pki.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { binaryPaths, loadVersions, type BinaryPaths } from './versions.ts';
import { buildEtcd } from './components/etcd.ts';
import { buildKubeApiserver } from './components/kube-apiserver.ts';
import { buildKubeControllerManager } from './components/kube-controller-manager.ts';
import { buildKubeScheduler } from './components/kube-scheduler.ts';
import { buildCertManager, CERT_MANAGER_LEASE } from './components/cert-manager.ts';
import { buildNodeAgent, NODE_NAME } from './components/node-agent.ts';
import { OPERATOR_NAMESPACE, buildOperator } from './components/operator.ts';
import { buildNetGateway, egressConfigPath, egressSocketPath, NET_GATEWAY } from './components/net-gateway.ts';
import { egressSelectorConfig } from '../net/egress-config.ts';
import { admissionConfig, admissionConfigPath, WEBHOOK_CLIENT, webhookKubeconfig, webhookKubeconfigPath } from './webhook-client.ts';
import { deleteClusterNetns, ensureNodeNetns, netnsUnsupportedReason } from '../net/netns.ts';
import { GATEWAY_USER, gatewayRbac } from '../net/rbac.ts';
import { KUBERNETES_SERVICE_IP, NODE_IP, nodeNetnsName } from '../net/topology.ts';
import { provisionerRbac } from '../node/provisioner.ts';
import { installApi } from '../../api/install.ts';
import { OPERATOR_USER, operatorRbac } from '../../operator/rbac.ts';
import * as kubeletRuntime from '../kubelet/runtime.ts';
import { applyAndWaitEstablished, certManagerCrds, certManagerRbac, CERT_MANAGER_USER, waitLeaseHeld } from './bootstrap.ts';
import { assertPortFree, checkHealth, ComponentError, processState, stopProcess, waitHealthy, type ProcessState } from './supervisor.ts';
import { ensureSupervisor, stopSupervisor, supervisorState } from './supervisor-client.ts';
import { readRecord, type SupervisedRecord } from './restart-records.ts';
import { DEFAULT_BACKOFF } from './backoff.ts';

export type Log = (msg: string) => void;

const PROVISIONER_USER = 'pgtls:local-path-provisioner';

export interface UpOptions {
  portBase?: number;
  /** Per-component readiness timeout. */
  timeoutMs?: number;
  log?: Log;
  /** Start the operator (default true); tests that run their own webhook or controllers turn it off. */
  operator?: boolean;
  /** For a new home: what runs pods (default node-agent). A saved home keeps its own. */
  runtime?: kubeletRuntime.Runtime;
}

const CLIENTS = [
  { name: 'admin', commonName: 'pgtls-admin', organizations: ['system:masters'] },
  { name: 'apiserver-etcd-client', commonName: 'kube-apiserver-etcd-client' },
  { name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] },
  { name: 'kube-controller-manager', commonName: 'system:kube-controller-manager' },
  { name: 'kube-scheduler', commonName: 'system:kube-scheduler' },
  { name: 'cert-manager', commonName: CERT_MANAGER_USER },
  // The node agent is a kubelet to the API server: the Node authorizer scopes it to its own pods.
  { name: 'node-agent', commonName: `system:node:${NODE_NAME}`, organizations: ['system:nodes'] },
  { name: 'local-path-provisioner', commonName: PROVISIONER_USER },
  // The operator gets the narrow ClusterRole of deploy/rbac.yaml, not cluster-admin, so the tests prove it suffices.
  { name: 'operator', commonName: OPERATOR_USER },
  // The API server toward admission webhooks (not a user: no kubeconfig for the API server itself).
  WEBHOOK_CLIENT,
  // The net gateway reads Services, Pods and EndpointSlices to know what to serve.
  { name: NET_GATEWAY, commonName: GATEWAY_USER },
];

/** The admin and per-component kubeconfigs a cluster uses. */
export function kubeconfigPath(layout: HomeLayout, user: string): string {
  return user === 'admin' ? layout.kubeconfig : join(layout.kubeconfigs, `${user}.kubeconfig`);
}

export function serverUrl(cfg: ClusterConfig): string {
  return `https://${cfg.host}:${cfg.ports.apiserver}`;
}

/**
 * Whether this cluster has a node network namespace and the net gateway (the
 * host can create namespaces: root, iproute2). Without, it runs as before on
 * loopback alone and the API server dials directly.
 */
export function nodeNetworkEnabled(): boolean {
  return netnsUnsupportedReason() === undefined;
}

export function buildComponents(cfg: ClusterConfig, layout: HomeLayout, pki: PkiFiles, bins: BinaryPaths): Component[] {
  const net = nodeNetworkEnabled();
  return [
    buildEtcd(cfg, pki, bins.etcd, layout.data),
    buildKubeApiserver(cfg, pki, bins.kubeApiserver, net ? egressConfigPath(layout) : undefined, admissionConfigPath(layout)),
    // Right after the API server: webhooks and kubelet calls go through it from then on.
    ...(net ? [buildNetGateway(cfg, layout, kubeconfigPath(layout, NET_GATEWAY))] : []),
    buildKubeControllerManager(cfg, pki, bins.kubeControllerManager, kubeconfigPath(layout, 'kube-controller-manager'), layout.data),
    buildKubeScheduler(cfg, bins.kubeScheduler, kubeconfigPath(layout, 'kube-scheduler')),
    buildCertManager(cfg, bins.certManager, kubeconfigPath(layout, 'cert-manager')),
    buildNodeAgent(cfg, pki, layout.data, kubeconfigPath(layout, 'node-agent'), kubeconfigPath(layout, 'local-path-provisioner')),
  ];
}

/** The control plane, then the operator: what `up` starts and `down` stops (in reverse). */
export function clusterComponents(cfg: ClusterConfig, layout: HomeLayout, pki: PkiFiles, bins: BinaryPaths, opts: { operator?: boolean } = {}): Component[] {
  const cp = buildComponents(cfg, layout, pki, bins);
  const all = opts.operator === false ? cp : [...cp, buildOperator(cfg, layout.data, kubeconfigPath(layout, 'operator'), { caFile: pki.caCert, name: WEBHOOK_CLIENT.commonName })];
  return cfg.runtime === 'kubelet' ? kubeletRuntime.kubeletRuntimeComponents(cfg, layout, all) : all;
}

function missingBinaries(bins: BinaryPaths): string[] {
  return Object.values(bins).filter((p) => !existsSync(p));
}

/** Loads the saved config, or creates one; the saved ports win over --port-base. */
export function loadOrCreateConfig(layout: HomeLayout, portBase?: number, log: Log = () => {}): ClusterConfig {
  const versions = loadVersions();
  const saved = readClusterConfig(layout.clusterFile);
  if (saved) {
    if (portBase !== undefined && portBase !== saved.ports.apiserver) {
      log(`keeping the saved ports of ${layout.home} (apiserver ${saved.ports.apiserver}); --port-base ${portBase} applies to a new home`);
    }
    return { ...saved, versions };
  }
  return newClusterConfig(versions, portBase);
}

export interface ClusterHandle {
  cfg: ClusterConfig;
  layout: HomeLayout;
  components: Component[];
}

/** Everything `status` and `down` need, computed without touching any process. */
export function describeCluster(layout: HomeLayout): ClusterHandle | undefined {
  const cfg = readClusterConfig(layout.clusterFile);
  if (!cfg) return undefined;
  const components = clusterComponents(cfg, layout, pkiFiles(layout.pki), binaryPaths(cfg.versions));
  return { cfg, layout, components };
}

export async function up(layout: HomeLayout, opts: UpOptions = {}): Promise<ClusterHandle> {
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const cfg = loadOrCreateConfig(layout, opts.portBase, log);
  if (opts.runtime !== undefined && (cfg.runtime ?? 'node-agent') !== opts.runtime) {
    if (existsSync(layout.clusterFile)) throw new ComponentError(`${layout.home} runs the ${cfg.runtime ?? 'node-agent'} runtime; \`pgtls down --purge\` first to switch to ${opts.runtime}`);
    cfg.runtime = opts.runtime;
  }
  const bins = binaryPaths(cfg.versions);
  const missing = missingBinaries(bins);
  if (missing.length > 0) {
    throw new ComponentError(`missing control-plane binaries:\n  ${missing.join('\n  ')}\nBuild them with \`node scripts/setup.mjs\` (npm start does it too).`);
  }
  for (const d of [layout.home, layout.data, layout.logs, layout.pids, layout.kubeconfigs]) mkdirSync(d, { recursive: true, mode: 0o700 });
  writeClusterConfig(layout.clusterFile, cfg);

  const pki = await ensurePki(
    layout.pki,
    [
      { name: 'etcd', commonName: 'etcd', dnsNames: ['localhost'], ipAddresses: [cfg.host], clientAuth: true },
      {
        name: 'kube-apiserver',
        commonName: 'kube-apiserver',
        dnsNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'],
        // In the node namespace the API server is reached at the `kubernetes` ClusterIP and at the node address (the gateway forwards both).
        ipAddresses: [cfg.host, KUBERNETES_SERVICE_IP, NODE_IP],
      },
      // The node agent's kubelet API; the API server connects to the node's InternalIP.
      { name: 'node-agent-serving', commonName: `system:node:${NODE_NAME}`, dnsNames: ['localhost'], ipAddresses: [cfg.host] },
    ],
    CLIENTS,
  );
  for (const c of CLIENTS) {
    if (c.name === 'apiserver-etcd-client' || c.name === 'apiserver-kubelet-client' || c.name === WEBHOOK_CLIENT.name) continue;
    writeKubeconfig(kubeconfigPath(layout, c.name), {
      server: serverUrl(cfg),
      caFile: pki.caCert,
      certFile: pki.cert(c.name),
      keyFile: pki.key(c.name),
      user: c.commonName,
      clusterName: cfg.name,
    });
  }

  writeFileSync(webhookKubeconfigPath(layout), webhookKubeconfig(pki.cert(WEBHOOK_CLIENT.name), pki.key(WEBHOOK_CLIENT.name)), { mode: 0o600 });
  writeFileSync(admissionConfigPath(layout), admissionConfig(webhookKubeconfigPath(layout)), { mode: 0o600 });

  if (nodeNetworkEnabled()) {
    const netns = nodeNetnsName(cfg.ports.apiserver);
    if (await ensureNodeNetns(netns)) log(`network namespace ${netns} created (bridge with ${NODE_IP})`);
    writeFileSync(egressConfigPath(layout), egressSelectorConfig(egressSocketPath(layout)), { mode: 0o600 });
  } else {
    log(`no node network namespace: ${netnsUnsupportedReason()}; pods and Services stay on loopback`);
  }

  const components = clusterComponents(cfg, layout, pki, bins, { operator: opts.operator });
  const byName = new Map(components.map((c) => [c.name, c]));
  const kube = Kube.fromFile(layout.kubeconfig);
  const started = new Map<string, { pid: number; at: number; restarts: number }>();
  const hook = { cfg, layout, kube, log, timeoutMs };
  const kubeletNode = cfg.runtime === 'kubelet';
  // The supervisor process starts the components (retrying a crash at start) and restarts them when they exit.
  const sup = await ensureSupervisor(layout, log);
  for (const c of components) {
    if (kubeletNode) await kubeletRuntime.beforeStart(c.name, hook);
    if (c.name === 'cert-manager') {
      for (const o of certManagerRbac()) await kube.apply(o);
      await applyAndWaitEstablished(kube, certManagerCrds(bins.certManagerCrds, cfg.versions.certManager), timeoutMs);
    }
    if (c.name === 'node-agent') for (const o of provisionerRbac(PROVISIONER_USER)) await kube.apply(o);
    if (c.name === NET_GATEWAY) for (const o of gatewayRbac()) await kube.apply(o);
    if (c.name === 'operator') {
      // Its namespace, ClusterRole and namespace Role, as deploy/rbac.yaml gives them to a ServiceAccount.
      for (const o of operatorRbac({ user: OPERATOR_USER }, OPERATOR_NAMESPACE)) await kube.apply(o);
      // The operator's webhook certificate needs cert-manager's controllers running.
      const cm = started.get('cert-manager');
      if (cm) {
        await waitLeaseHeld(kube, CERT_MANAGER_LEASE, cm.at, timeoutMs, () => !crashLooping(layout, 'cert-manager', cm.restarts));
        log('cert-manager holds its leader lease');
        started.delete('cert-manager');
      }
    }
    for (const dep of c.links) if (!byName.has(dep)) throw new Error(`${c.name} links to unknown ${dep}`);
    const st = processState(layout, c);
    if (st.state === 'running') {
      log(`${c.name} already running (pid ${st.pid})`);
      await sup.adopt(c);
      if (!(await checkHealth(c))) await waitHealthy(layout, c, st.pid, timeoutMs);
      if (c.name === 'kube-apiserver') await install(kube, log);
      continue;
    }
    if (st.state === 'stale') log(`${c.name}: ignoring stale pid file (${st.reason})`);
    for (const p of c.ports) await assertPortFree(cfg.host, p, c.name);
    const at = Date.now();
    const { pid, restarts } = await sup.start(c, timeoutMs, log);
    started.set(c.name, { pid, at, restarts });
    if (kubeletNode) await kubeletRuntime.afterStart(c.name, hook);
    log(`${c.name} ready${restarts > 0 ? ` after ${restarts} failed start${restarts > 1 ? 's' : ''}` : ''}`);
    if (c.name === 'kube-apiserver') await install(kube, log);
  }
  const cm = started.get('cert-manager');
  if (cm) {
    await waitLeaseHeld(kube, CERT_MANAGER_LEASE, cm.at, timeoutMs, () => !crashLooping(layout, 'cert-manager', cm.restarts));
    log('cert-manager holds its leader lease');
  }
  if (kubeletNode) await kubeletRuntime.afterUp(hook);
  sup.close();
  return { cfg, layout, components };
}

/**
 * A component that keeps exiting after its health check passed (as many
 * times as a gated start may fail) will not get anywhere: `up` stops waiting on it.
 */
function crashLooping(layout: HomeLayout, name: string, restartsWhenReady: number): boolean {
  const rec = readRecord(layout.home, name);
  return rec !== undefined && (rec.state === 'failed' || rec.restarts - restartsWhenReady >= DEFAULT_BACKOFF.startAttempts);
}

/** The KubeDB CRDs and the version catalog, on every up (server-side apply: idempotent). */
async function install(kube: Kube, log: Log): Promise<void> {
  const at = Date.now();
  await installApi(kube);
  log(`KubeDB CRDs and version catalog installed (${Date.now() - at} ms)`);
}

export async function down(layout: HomeLayout, opts: { purge?: boolean; log?: Log } = {}): Promise<void> {
  const log = opts.log ?? (() => {});
  // First the supervisor, so that nothing is restarted behind our back.
  if ((await stopSupervisor(layout)) === 'stopped') log('supervisor stopped');
  const handle = describeCluster(layout);
  if (handle) {
    const kubeletNode = handle.cfg.runtime === 'kubelet';
    for (const c of [...handle.components].reverse()) {
      if (kubeletNode) await kubeletRuntime.beforeStop(c.name, handle.cfg, layout, log);
      const r = await stopProcess(layout, c);
      if (r === 'stopped') log(`${c.name} stopped`);
    }
    if (kubeletNode) await kubeletRuntime.afterDown(handle.cfg, layout, log);
    // Every process is gone: the node namespace and any pod namespace left of this cluster go too.
    if (nodeNetworkEnabled()) {
      for (const n of await deleteClusterNetns(handle.cfg.ports.apiserver, log)) log(`network namespace ${n} deleted`);
    }
  }
  if (opts.purge) {
    // Only a directory that looks like a pgtls home is deleted.
    if (existsSync(layout.clusterFile) || existsSync(layout.pki)) {
      rmSync(layout.home, { recursive: true, force: true });
      log(`deleted ${layout.home}`);
    } else if (existsSync(layout.home)) {
      log(`${layout.home} does not look like a pgtls home; left it alone`);
    }
  }
}

export interface ComponentStatus {
  name: string;
  process: ProcessState;
  healthy: boolean;
  /** What the supervisor recorded: restarts, last exit, back-off. */
  supervised?: SupervisedRecord;
}

export interface ClusterStatus {
  cfg: ClusterConfig;
  supervisor: ProcessState;
  components: ComponentStatus[];
}

export async function status(layout: HomeLayout): Promise<ClusterStatus | undefined> {
  const handle = describeCluster(layout);
  if (!handle) return undefined;
  const components: ComponentStatus[] = [];
  for (const c of handle.components) {
    const p = processState(layout, c);
    components.push({ name: c.name, process: p, healthy: p.state === 'running' && (await checkHealth(c)), supervised: readRecord(layout.home, c.name) });
  }
  return { cfg: handle.cfg, supervisor: supervisorState(layout), components };
}
