// The cluster network of `pgtls up`: the node namespace, the net gateway as
// the API server's egress (a webhook behind a ClusterIP Service in a pod
// namespace, kubelet exec and logs), the `kubernetes` Service inside the
// namespace for a ServiceAccount, and `down` leaving nothing behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { k8s } from '../../src/kube/client-node.ts';
import { ensurePki } from '../../src/local/controlplane/pki.ts';
import { egressConfigPath, egressSocketPath, NET_GATEWAY } from '../../src/local/controlplane/components/net-gateway.ts';
import { netnsUnsupportedReason, listNetns } from '../../src/local/net/netns.ts';
import { plugPodNetns } from '../../src/local/net/pod-netns.ts';
import { nodeNetnsName, NODE_IP, podNetnsName } from '../../src/local/net/topology.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/exec.ts';
import { tmpDir } from '../helpers/tls.ts';
import { control, hostNetState, inNetns, netnsMountsFor, startNsServer, stopChild, type HostNetState } from '../integration/net/helpers.ts';

const NS = 'nettest';
const HOOK_IP = '10.244.0.20';
const skip = netnsUnsupportedReason();
if (skip) process.stdout.write(`# skipping cluster network e2e: ${skip}\n`);

interface Counters {
  egressHost: number;
  egressNetns: number;
  egressRefused: number;
}

describe('cluster network: node namespace, egress through the gateway, kubernetes Service', { skip, timeout: 20 * 60_000 }, () => {
  let c: TestCluster;
  let hostBefore: HostNetState;
  let hook: ChildProcess | undefined;
  let socket: string;
  let nodeNs: string;
  const core = () => c.kube.api(k8s.CoreV1Api);
  const counters = async (): Promise<Counters> => JSON.parse((await control(socket, 'GET', '/status')).body).counters;

  before(async () => {
    hostBefore = await hostNetState();
    c = await startTestCluster({ operator: false });
    socket = egressSocketPath(c.layout);
    nodeNs = nodeNetnsName(c.handle.cfg.ports.apiserver);
    await c.createNamespace(NS);
  });

  after(async () => {
    await stopChild(hook);
    await c?.destroy();
  });

  it('up made the node namespace, runs the gateway and points the API server egress at it', async () => {
    assert.ok((await listNetns()).includes(nodeNs));
    const addr = await inNetns(nodeNs, ['ip', '-br', 'addr', 'show', 'dev', 'pgtls0']);
    assert.match(addr, new RegExp(`${NODE_IP.replace(/\./g, '\\.')}/16`));
    assert.equal((await inNetns(nodeNs, ['cat', '/proc/sys/net/ipv4/ip_forward'])).trim(), '1');
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), hostBefore.ipForward);
    const api = c.handle.components.find((x) => x.name === 'kube-apiserver')!;
    assert.ok(api.args.includes(`--egress-selector-config-file=${egressConfigPath(c.layout)}`));
    assert.ok(c.handle.components.some((x) => x.name === NET_GATEWAY));
    assert.equal((await control(socket, 'GET', '/healthz')).status, 200);
  });

  it('kubelet logs and exec go through the egress socket to the agent on host loopback', async () => {
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'shell', namespace: NS },
      spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'sh', image: 'localhost/pgtls/postgres:15', command: ['sh', '-c', 'echo started-shell; exec sleep 3600'] }] },
    }));
    await eventually('shell running', async () => (await core().readNamespacedPod({ name: 'shell', namespace: NS })).status?.phase === 'Running', 120_000, 500);
    const c0 = await counters();
    const logs = await eventually('logs', async () => {
      const out = await c.kubectlOk(['logs', '-n', NS, 'shell']);
      return out.includes('started-shell') ? out : undefined;
    }, 30_000, 500);
    assert.equal(logs.trim(), 'started-shell');
    const c1 = await counters();
    assert.ok(c1.egressHost > c0.egressHost, 'the logs call went through the gateway');
    const out = await c.kubectlOk(['exec', '-n', NS, 'shell', '--', 'sh', '-c', 'echo exec-ok; echo err >&2']);
    assert.equal(out.trim(), 'exec-ok');
    const c2 = await counters();
    assert.ok(c2.egressHost > c1.egressHost, 'the exec call went through the gateway');
    assert.equal(c2.egressRefused, c0.egressRefused);
  });

  it('the API server calls a webhook behind a ClusterIP Service, served in a pod namespace, through the node namespace', async () => {
    const apiPort = c.handle.cfg.ports.apiserver;
    const podNs = podNetnsName(apiPort, 'e2e-webhook-0000-0000-000000000001');
    await plugPodNetns({ nodeNetns: nodeNs, podNetns: podNs, veth: `vw${apiPort}`, ip: HOOK_IP });
    const dir = tmpDir('pgtls-hook-');
    const pki = await ensurePki(join(dir, 'pki'), [{ name: 'hook', commonName: 'hook', dnsNames: [`hook.${NS}.svc`], ipAddresses: [] }], []);
    hook = await startNsServer(podNs, { NAME: 'hook-in-pod-netns', CERT: pki.cert('hook'), KEY: pki.key('hook'), PORT: '8443' }, 'webhook-server.ts');
    await c.kube.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'hook', namespace: NS }, spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] } });
    await c.kube.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'hook-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'hook' } },
      addressType: 'IPv4',
      ports: [{ name: 'https', port: 8443, protocol: 'TCP' }],
      endpoints: [{ addresses: [HOOK_IP], conditions: { ready: true } }],
    } as never);
    const svc = await core().readNamespacedService({ name: 'hook', namespace: NS });
    await eventually('the gateway serves the hook ClusterIP', async () => JSON.parse((await control(socket, 'GET', '/status')).body).services.includes(`svc:${svc.spec!.clusterIP}:443`), 30_000, 200);
    await c.kube.apply({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'nettest-hook' },
      webhooks: [
        {
          name: 'hook.nettest.pgtls.dev',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          timeoutSeconds: 10,
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
          clientConfig: { service: { name: 'hook', namespace: NS, port: 443, path: '/validate' }, caBundle: readFileSync(pki.caCert).toString('base64') },
        },
      ],
    } as never);
    const before = await counters();
    // The configuration takes a moment to reach the API server's webhook cache.
    const denied = await eventually('the webhook denies', async () => {
      const name = `cm-${Date.now()}`;
      const r = await c.kubectl(['create', 'configmap', '-n', NS, name, '--from-literal=a=b', '--dry-run=client', '-o', 'json']);
      const obj = JSON.parse(r.stdout);
      obj.metadata.labels = { deny: 'yes' };
      const out = await c.kubectl(['create', '-f', '-'], JSON.stringify(obj));
      return out.code !== 0 && out.stderr.includes('denied by hook-in-pod-netns') ? out.stderr : undefined;
    }, 60_000, 500);
    // The webhook saw the connection arrive on its pod address, from inside the cluster network.
    assert.match(denied, new RegExp(`denied by hook-in-pod-netns from (::ffff:)?${HOOK_IP.replace(/\./g, '\\.')}`));
    await c.kubectlOk(['create', 'configmap', '-n', NS, 'allowed', '--from-literal=a=b']);
    const after = await counters();
    // The API server keeps its webhook connection alive: at least one tunnel into the namespace, none refused.
    assert.ok(after.egressNetns > before.egressNetns, `egress into the namespace counted (${before.egressNetns} → ${after.egressNetns})`);
    assert.equal(after.egressRefused, before.egressRefused);
    await c.kubectlOk(['delete', 'validatingwebhookconfiguration', 'nettest-hook']);
  });

  it('webhooks by URL go through the gateway too: loopback is dialled on the host, any other address refused', async (t) => {
    const dir = tmpDir('pgtls-urlhook-');
    const pki = await ensurePki(join(dir, 'pki'), [{ name: 'hook', commonName: 'hook', dnsNames: [], ipAddresses: ['127.0.0.1'] }], []);
    const port = c.portBase + 93;
    const server = createHttpsServer({ cert: readFileSync(pki.cert('hook')), key: readFileSync(pki.key('hook')) }, (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const review = JSON.parse(body);
        const deny = review.request?.object?.metadata?.labels?.deny === 'url';
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: !deny, status: deny ? { code: 403, message: 'denied by the URL webhook on loopback' } : undefined } }));
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    // The host's own non-loopback address: the gateway must refuse it; a sentinel proves nothing connected (and nothing could leave the machine).
    const own = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    let reached = 0;
    const sentinel = createServer((s) => {
      reached++;
      s.destroy();
    });
    if (own) await new Promise<void>((r) => sentinel.listen(c.portBase + 94, own, () => r()));
    const hook = (name: string, url: string, failurePolicy: string, label: string) => ({
      name,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy,
      timeoutSeconds: 5,
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
      objectSelector: { matchLabels: { hook: label } },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
      clientConfig: { url, caBundle: readFileSync(pki.caCert).toString('base64') },
    });
    try {
      await c.kube.apply({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'nettest-url' },
        webhooks: [
          hook('loopback.nettest.pgtls.dev', `https://127.0.0.1:${port}/validate`, 'Fail', 'loopback'),
          ...(own ? [hook('own.nettest.pgtls.dev', `https://${own}:${c.portBase + 94}/validate`, 'Ignore', 'own')] : []),
        ],
      } as never);
      const before = await counters();
      const create = (name: string, labels: Record<string, string>) =>
        c.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, labels }, data: { a: 'b' } }));
      await eventually('the URL webhook denies', async () => {
        const r = await create(`u-${Date.now()}`, { hook: 'loopback', deny: 'url' });
        return r.code !== 0 && r.stderr.includes('denied by the URL webhook on loopback');
      }, 60_000, 500);
      const mid = await counters();
      assert.ok(mid.egressHost > before.egressHost, 'the URL webhook call went through the gateway');
      if (!own) return t.skip('no non-loopback host address to prove a refusal with');
      const r = await create('refused-target', { hook: 'own' });
      assert.equal(r.code, 0, r.stderr);
      const after = await counters();
      assert.ok(after.egressRefused > mid.egressRefused, 'the gateway refused the non-loopback URL');
      assert.equal(reached, 0);
    } finally {
      await c.kubectl(['delete', 'validatingwebhookconfiguration', 'nettest-url', '--ignore-not-found']);
      server.close();
      sentinel.close();
    }
  });

  it('the kubernetes Service inside the node namespace serves the API to a ServiceAccount token, verified with the cluster CA', async () => {
    await c.kubectlOk(['create', 'serviceaccount', '-n', NS, 'reader']);
    const token = (await c.kubectlOk(['create', 'token', '-n', NS, 'reader', '--duration=10m'])).trim();
    const dir = tmpDir('pgtls-sa-');
    const ca = join(dir, 'ca.crt');
    writeFileSync(ca, readFileSync(join(c.layout.pki, 'ca.crt')));
    const review = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    const ask = async (url: string, extra: string[] = []) =>
      JSON.parse(
        await inNetns(nodeNs, ['curl', '-sS', '--fail', '--max-time', '15', '--cacert', ca, ...extra, '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', '-X', 'POST', '-d', review, url]),
      );
    const viaIp = await ask('https://10.96.0.1:443/apis/authentication.k8s.io/v1/selfsubjectreviews');
    assert.equal(viaIp.status.userInfo.username, `system:serviceaccount:${NS}:reader`);
    // As an in-cluster client names it (cluster DNS would answer the ClusterIP).
    const viaName = await ask('https://kubernetes.default.svc/apis/authentication.k8s.io/v1/selfsubjectreviews', ['--resolve', 'kubernetes.default.svc:443:10.96.0.1']);
    assert.equal(viaName.status.userInfo.username, `system:serviceaccount:${NS}:reader`);
    // And at the node address, where a kubelet inside the namespace would dial the API server.
    const viaNode = await ask(`https://${NODE_IP}:${c.handle.cfg.ports.apiserver}/apis/authentication.k8s.io/v1/selfsubjectreviews`);
    assert.equal(viaNode.status.userInfo.username, `system:serviceaccount:${NS}:reader`);
  });

  it('down deletes the node namespace and the pod namespaces left behind, and changes nothing on the host', async () => {
    await stopChild(hook);
    hook = undefined;
    await c.stop();
    const prefix = nodeNetnsName(c.handle.cfg.ports.apiserver);
    assert.deepEqual((await listNetns()).filter((n) => n === prefix || n.startsWith(`${prefix}-`)), []);
    assert.deepEqual(netnsMountsFor(prefix), []);
    const now = await hostNetState();
    assert.deepEqual(now.links.filter((l) => !hostBefore.links.includes(l)), []);
    assert.deepEqual(now.addrs, hostBefore.addrs);
    assert.deepEqual(now.routes, hostBefore.routes);
    assert.equal(now.ipForward, hostBefore.ipForward);
  });
});
