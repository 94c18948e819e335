// Issue 10: `pgtls up --runtime kubelet` — the real kubelet 1.34 with
// containerd 1.6 and runc, a CNI bridge, kube-proxy and CoreDNS, all inside
// namespaces pgtls creates; `down` leaves the host as it was. Skips, saying
// why, on a machine where the runtime cannot start.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { preflight } from '../../src/local/kubelet/runtime.ts';
import { kubeletNodeLayout } from '../../src/local/kubelet/layout.ts';
import { hierarchies } from '../../src/local/kubelet/cgroups.ts';
import { addressPlanFor, hostMirror } from '../../src/local/net/topology.ts';
import { startTestCluster, testPortBase, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/exec.ts';

const NS = 'kubelettest';
const BUSYBOX = 'pgtls.local/busybox:1.35';
const failing = preflight();
const skip = failing.length > 0 ? `the kubelet runtime cannot start on this machine: ${failing.join('; ')}` : false;
if (skip) process.stderr.write(`kubelet-runtime.test.ts: SKIP: ${skip}\n`);

/** The host state `up` may touch and `down` must restore, filtered to what could be this cluster's. */
interface HostSnapshot {
  netns: string[];
  mounts: string[];
  cgroups: string[];
  paths: string[];
  sysctls: Record<string, string>;
}

const HOST_PATHS = ['/run/containerd', '/var/lib/kubelet', '/var/lib/cni', '/var/log/pods', '/var/log/containers', '/etc/cni/net.d', '/run/netns/cni'];
const SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops', 'net/ipv4/ip_forward', 'net/ipv4/conf/all/route_localnet'];

function cgroupDirs(dir: string, depth: number): string[] {
  if (depth === 0 || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    out.push(join(dir, e.name), ...cgroupDirs(join(dir, e.name), depth - 1));
  }
  return out;
}

function snapshot(port: number, home: string): HostSnapshot {
  // Other work on the machine may mount or make namespaces meanwhile: only what this cluster could own counts.
  const ours = (s: string) =>
    s.includes(`pgtls-${port}`) || s.includes(home) || s.includes('/run/netns/cni-') || HOST_PATHS.some((p) => s.split(' ')[1]?.startsWith(p) || s === p);
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  return {
    netns: netns.filter((n) => n.startsWith(`pgtls-${port}`) || n.startsWith('cni-')),
    mounts: readFileSync('/proc/mounts', 'utf8').split('\n').filter(ours),
    // Deep enough for <session cgroup>/pgtls-<port>/kubepods/<qos>/pod<uid>.
    cgroups: hierarchies().flatMap((h) => cgroupDirs(h, 6)).filter(ours),
    paths: HOST_PATHS.filter((p) => existsSync(p)),
    sysctls: Object.fromEntries(SYSCTLS.map((k) => [k, readFileSync(`/proc/sys/${k}`, 'utf8').trim()])),
  };
}

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const pod = (name: string, extra: Record<string, unknown>, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, labels },
  spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image: BUSYBOX, imagePullPolicy: 'IfNotPresent', ...extra }] },
});

describe('pgtls up --runtime kubelet', { skip }, () => {
  let tc: TestCluster;
  let before_: HostSnapshot;
  const portBase = testPortBase();

  before(async () => {
    // Nothing of this cluster exists yet: the snapshot is what `down` must give back.
    before_ = snapshot(portBase, '/nonexistent');
    tc = await startTestCluster({ runtime: 'kubelet', operator: false, portBase });
    await tc.createNamespace(NS);
  });

  after(async () => {
    if (!tc) return;
    const home = tc.layout.home;
    await tc.stop();
    const afterDown = snapshot(portBase, home);
    await tc.destroy();
    assert.deepEqual(afterDown, before_, 'down leaves the host as before up (netns, mounts, cgroups, paths, sysctls)');
  });

  it('registers the node with containerd 1.6 and kubelet 1.34', async () => {
    const wide = await tc.kubectlOk(['get', 'nodes', '-o', 'wide']);
    assert.match(wide, /containerd:\/\/1\.6\./);
    assert.match(wide, /\sv1\.34\.\d+\s/);
    assert.match(wide, /\s10\.244\.0\.1\s/, 'the node address lives in the node namespace');
  });

  it('runs a plain pod: Running, exec, logs', async () => {
    await tc.kubectlOk(['apply', '-f', '-'], JSON.stringify(pod('hello', { command: ['sh', '-c', 'echo hello from containerd; exec sleep 3600'] })));
    await tc.kubectlOk(['-n', NS, 'wait', '--for=condition=Ready', 'pod/hello', '--timeout=90s']);
    const ip = await tc.kubectlOk(['-n', NS, 'get', 'pod', 'hello', '-o', 'jsonpath={.status.podIP}']);
    assert.match(ip, /^10\.244\.\d+\.\d+$/);
    assert.equal((await tc.kubectlOk(['-n', NS, 'exec', 'hello', '--', 'cat', '/proc/1/cmdline'])).replace(/\0/g, ' ').trim(), 'sleep 3600');
    const id = await tc.kubectlOk(['-n', NS, 'exec', 'hello', '--', 'hostname']);
    assert.equal(id.trim(), 'hello');
    assert.match(await tc.kubectlOk(['-n', NS, 'logs', 'hello']), /hello from containerd/);
  });

  it('serves a Service to another pod (by DNS name) and to the host through its loopback mirror', async () => {
    await tc.kubectlOk(['apply', '-f', '-'], JSON.stringify(pod('web', { command: ['httpd', '-f', '-p', '8080', '-h', '/www'], ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }, { app: 'web' })));
    await tc.kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } }),
    );
    await tc.kubectlOk(['-n', NS, 'wait', '--for=condition=Ready', 'pod/web', 'pod/hello', '--timeout=90s']);
    const body = await eventually(
      'the Service answers a pod through kube-proxy and CoreDNS',
      async () => {
        const r = await tc.kubectl(['-n', NS, 'exec', 'hello', '--', 'wget', '-qO-', `http://web.${NS}.svc.cluster.local/`]);
        return r.code === 0 ? r.stdout : undefined;
      },
      60_000,
      1000,
    );
    assert.equal(body.trim(), 'pgtls busybox');
    const clusterIP = await tc.kubectlOk(['-n', NS, 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    const mirror = hostMirror(clusterIP, addressPlanFor(portBase));
    assert.ok(mirror, `ClusterIP ${clusterIP} has a loopback mirror`);
    const fromHost = await eventually('the mirror answers on the host', () => httpGet(mirror, 80).catch(() => undefined), 30_000, 500);
    assert.equal(fromHost.trim(), 'pgtls busybox');
    const podIP = await tc.kubectlOk(['-n', NS, 'get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}']);
    const podMirror = hostMirror(podIP, addressPlanFor(portBase))!;
    assert.equal((await eventually('the pod mirror answers on the host', () => httpGet(podMirror, 8080).catch(() => undefined), 30_000, 500)).trim(), 'pgtls busybox');
  });

  it('mounts a PVC provisioned by the local-path provisioner, and a Secret that follows its updates', async () => {
    await tc.kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: NS }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Mi' } } } }),
    );
    await tc.kubectlOk(['-n', NS, 'create', 'secret', 'generic', 'conf', '--from-literal=v=one']);
    const p = pod('store', { command: ['sh', '-c', 'echo stored > /data/f; exec sleep 3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'conf', mountPath: '/conf' }] });
    Object.assign(p.spec, { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }, { name: 'conf', secret: { secretName: 'conf' } }] });
    await tc.kubectlOk(['apply', '-f', '-'], JSON.stringify(p));
    await tc.kubectlOk(['-n', NS, 'wait', '--for=condition=Ready', 'pod/store', '--timeout=90s']);
    assert.equal((await tc.kubectlOk(['-n', NS, 'exec', 'store', '--', 'cat', '/data/f'])).trim(), 'stored');
    assert.equal((await tc.kubectlOk(['-n', NS, 'exec', 'store', '--', 'cat', '/conf/v'])).trim(), 'one');
    const pv = await tc.kubectlOk(['-n', NS, 'get', 'pvc', 'data', '-o', 'jsonpath={.spec.volumeName}']);
    assert.match(pv, /^pvc-/);
    // The kubelet refreshes Secret volumes on its pod sync (about a minute by default), not at once.
    await tc.kubectlOk(['-n', NS, 'create', 'secret', 'generic', 'conf', '--from-literal=v=two', '--dry-run=client', '-o', 'yaml'], undefined).then((y) => tc.kubectlOk(['apply', '-f', '-'], y));
    const at = Date.now();
    await eventually('the Secret update reaches the pod', async () => ((await tc.kubectlOk(['-n', NS, 'exec', 'store', '--', 'cat', '/conf/v'])).trim() === 'two' ? true : undefined), 150_000, 1000);
    process.stderr.write(`kubelet-runtime: Secret update → file in the pod: ${((Date.now() - at) / 1000).toFixed(1)} s\n`);
    // Any change to the pod object makes the kubelet sync that pod now, remounting its Secret volumes.
    await tc.kubectlOk(['-n', NS, 'create', 'secret', 'generic', 'conf', '--from-literal=v=three', '--dry-run=client', '-o', 'yaml'], undefined).then((y) => tc.kubectlOk(['apply', '-f', '-'], y));
    const at2 = Date.now();
    await tc.kubectlOk(['-n', NS, 'annotate', '--overwrite', 'pod', 'store', `pgtls.dev/secret-sync=${at2}`]);
    await eventually('the Secret update reaches the pod after a pod annotation', async () => ((await tc.kubectlOk(['-n', NS, 'exec', 'store', '--', 'cat', '/conf/v'])).trim() === 'three' ? true : undefined), 150_000, 250);
    process.stderr.write(`kubelet-runtime: Secret update + pod annotation → file in the pod: ${((Date.now() - at2) / 1000).toFixed(1)} s\n`);
  });

  it('honours imagePullPolicy: present images run without a registry, Never and Always do what they say', async () => {
    await tc.kubectlOk(['apply', '-f', '-'], JSON.stringify(pod('never-missing', { image: 'pgtls.local/not-imported:1', imagePullPolicy: 'Never', command: ['true'] })));
    await tc.kubectlOk(['apply', '-f', '-'], JSON.stringify(pod('always', { imagePullPolicy: 'Always', command: ['sleep', '3600'] })));
    const reason = (name: string) => tc.kubectlOk(['-n', NS, 'get', 'pod', name, '-o', 'jsonpath={.status.containerStatuses[0].state.waiting.reason}']);
    await eventually('Never with a missing image', async () => ((await reason('never-missing')) === 'ErrImageNeverPull' ? true : undefined), 60_000, 1000);
    // Always asks containerd to pull; with no registry reachable (and no route out of the node namespace) that fails.
    await eventually('Always tries to pull', async () => (/ErrImagePull|ImagePullBackOff/.test(await reason('always')) ? true : undefined), 60_000, 1000);
  });

  it('keeps containerd, its mounts and the pod network off the host', async () => {
    const node = kubeletNodeLayout(tc.layout, tc.handle.cfg);
    const mounts = readFileSync('/proc/mounts', 'utf8');
    assert.doesNotMatch(mounts, /overlay .*containerd/, 'no overlay snapshot is mounted on the host');
    assert.ok(!existsSync('/run/containerd'), 'no shim sockets on the host');
    const hostRoutes = spawnSync('ip', ['route', 'show'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(hostRoutes, /10\.244\.|10\.96\./, 'the host has no route to pods or Services');
    const nodeRoutes = spawnSync('ip', ['-n', node.netns, 'route', 'show'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(nodeRoutes, /^default/m, 'nothing is routed out of the node namespace');
  });
});
