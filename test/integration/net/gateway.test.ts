// The net gateway against real namespaces: a node namespace and a pod
// namespace made here with the same code `pgtls up` and the node runtime use,
// real servers started inside them with `ip netns exec`, the gateway in this
// process with its worker inside the node namespace. No API server: the
// cluster state is handed to the gateway as the watches would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createServer as createHttp, type Server as HttpServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { Gateway } from '../../../src/local/net/gateway.ts';
import { dialThroughGateway, EgressError } from '../../../src/local/net/egress-client.ts';
import { NetnsSockets, netnsPath } from '../../../src/local/net/netns-sockets.ts';
import { deleteClusterNetns, ensureNodeNetns, configureServiceRoute, listNetns, netnsUnsupportedReason } from '../../../src/local/net/netns.ts';
import { plugPodNetns } from '../../../src/local/net/pod-netns.ts';
import { addressPlanFor, nodeNetnsName, podNetnsName } from '../../../src/local/net/topology.ts';
import type { ClusterState } from '../../../src/local/net/routes.ts';
import { eventually, sleep } from '../../helpers/exec.ts';
import { connectThrough, control, conversation, dial, hostNetState, httpOver, inNetns, netnsMountsFor, startNsServer, stopChild, type HostNetState } from './helpers.ts';

const base = Number(process.env.PGTLS_TEST_PORT_BASE) > 1024 ? Number(process.env.PGTLS_TEST_PORT_BASE) : 21600;
// A cluster that never runs: its API server port only names the namespaces and the mirror octets.
const API_PORT = base + 90;
const LOOPBACK_POD_PORT = base + 91;
const SENTINEL_PORT = base + 92;
const NODE_NS = nodeNetnsName(API_PORT);
const POD_NS = podNetnsName(API_PORT, 'a1b2c3d4-0000-0000-0000-000000000001');
const POD_IP = '10.244.0.10';
const SVC_IP = '10.96.0.50';
const plan = addressPlanFor(API_PORT);
const P = plan.podOctet;
const S = plan.serviceOctet;

const skip = netnsUnsupportedReason();
if (skip) process.stdout.write(`# skipping net gateway integration tests: ${skip}\n`);

const pod = (name: string, ip: string, ports: { name: string; containerPort: number }[]): V1Pod => ({
  metadata: { name, namespace: 'web', labels: { app: name } },
  spec: { containers: [{ name: 'c', ports }] },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
});
const service = (name: string, ip: string, port: number, targetPort: string | number, selector: Record<string, string>, ns = 'web'): V1Service => ({
  metadata: { name, namespace: ns },
  spec: { clusterIP: ip, selector, ports: [{ name: 'p', port, targetPort: targetPort as never }] },
});

/** A host address that is not loopback: dialled on the host it would stay on this machine, and the gateway must refuse it anyway. */
function ownNonLoopbackIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

describe('net gateway: egress, Services in the node namespace, loopback mirrors', { skip, timeout: 5 * 60_000 }, () => {
  let hostBefore: HostNetState;
  let dir: string;
  let socket: string;
  let netns: NetnsSockets;
  let gw: Gateway;
  let podServer: ChildProcess | undefined;
  let apiStandIn: HttpServer;
  let loopbackPod: HttpServer;
  let state: ClusterState;
  const logs: string[] = [];

  before(async () => {
    hostBefore = await hostNetState();
    // Leftovers of an interrupted run of this very test.
    await deleteClusterNetns(API_PORT);
    await ensureNodeNetns(NODE_NS);
    await plugPodNetns({ nodeNetns: NODE_NS, podNetns: POD_NS, veth: `vt${API_PORT}`, ip: POD_IP });
    podServer = await startNsServer(POD_NS, { NAME: 'web-0', HTTP_PORTS: '8080,9000', TCP_PORT: '5432' });
    // On the host: a stand-in for the API server (the `kubernetes` Service's endpoint) and a pod of today's loopback agent.
    apiStandIn = createHttp((req, res) => res.end(JSON.stringify({ server: 'api', remote: req.socket.remoteAddress }))).listen(API_PORT, '127.0.0.1');
    loopbackPod = createHttp((_req, res) => res.end('loopback pod\n')).listen(LOOPBACK_POD_PORT, '127.0.0.1');
    dir = mkdtempSync(join(tmpdir(), 'pgtls-net-'));
    socket = join(dir, 'run', 'egress.sock');
    netns = new NetnsSockets({ path: netnsPath(NODE_NS), respawn: true, dialTimeoutMs: 3000, log: (m) => logs.push(m) });
    await netns.start();
    await configureServiceRoute(netnsPath(NODE_NS), true);
    gw = new Gateway({ netns, egressSocket: socket, apiserver: { host: '127.0.0.1', port: API_PORT }, plan, serviceProxy: true, dialTimeoutMs: 3000, log: (m) => logs.push(m) });
    await gw.start();
    state = {
      pods: [pod('web', POD_IP, [{ name: 'http', containerPort: 8080 }, { name: 'pg', containerPort: 5432 }]), pod('old', '127.0.0.1', [{ name: 'x', containerPort: LOOPBACK_POD_PORT }])],
      services: [
        service('web', SVC_IP, 80, 'http', { app: 'web' }),
        service('old', '10.96.0.51', 7000, LOOPBACK_POD_PORT, { app: 'old' }),
        { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, targetPort: API_PORT as never }] } },
      ],
      slices: [],
    };
    gw.update(state);
    await eventually('listeners open', async () => (gw.status().services as string[]).length === 5 && (gw.status().mirrors as string[]).length >= 3, 20_000, 50);
  });

  after(async () => {
    await gw?.close();
    await netns?.close();
    await stopChild(podServer);
    apiStandIn?.close();
    loopbackPod?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!skip) await deleteClusterNetns(API_PORT);
  });

  it('answers health and status on its socket', async () => {
    const h = await control(socket, 'GET', '/healthz');
    assert.equal(h.status, 200, h.body);
    const st = JSON.parse((await control(socket, 'GET', '/status')).body);
    assert.equal(st.worker.alive, true);
    assert.deepEqual(st.services.sort(), [`node:10.244.0.1:${API_PORT}`, `node:127.0.0.1:${API_PORT}`, 'svc:10.96.0.1:443', 'svc:10.96.0.50:80', 'svc:10.96.0.51:7000']);
  });

  it('CONNECTs to a pod inside the node namespace; the pod sees the node address', async () => {
    const c = await connectThrough(socket, `${POD_IP}:8080`);
    assert.equal(c.status, 200);
    const body = JSON.parse(await httpOver(c.socket!));
    assert.equal(body.server, 'web-0');
    assert.equal(body.remote.replace(/^::ffff:/, ''), '10.244.0.1');
  });

  it('CONNECTs to a ClusterIP (served inside the namespace, named target port) and to host loopback', async () => {
    const svc = await connectThrough(socket, `${SVC_IP}:80`);
    assert.equal(svc.status, 200);
    assert.equal(JSON.parse(await httpOver(svc.socket!)).port, 8080);
    const host = await connectThrough(socket, `127.0.0.1:${API_PORT}`);
    assert.equal(host.status, 200);
    assert.equal(JSON.parse(await httpOver(host.socket!)).server, 'api');
    const name = await connectThrough(socket, `localhost:${API_PORT}`);
    assert.equal(name.status, 200);
    name.socket!.destroy();
  });

  it('refuses any other target without dialling it, and logs it', async (t) => {
    const own = ownNonLoopbackIPv4();
    if (!own) return t.skip('this host has no non-loopback IPv4 address to use as a refused target');
    // A sentinel on that address proves the gateway never connected (the address is the host's own: nothing leaves the machine).
    let reached = 0;
    const sentinel = createServer((s) => {
      reached++;
      s.destroy();
    });
    await new Promise<void>((r) => sentinel.listen(SENTINEL_PORT, own, () => r()));
    try {
      const before = { ...gw.counters };
      for (const target of [`${own}:${SENTINEL_PORT}`, `10.97.0.1:443`, `example.com:443`]) {
        const r = await connectThrough(socket, target);
        assert.equal(r.status, 403, target);
        assert.match(r.body, /not loopback and not in the pod network/);
      }
      const bad = await connectThrough(socket, 'no-port');
      assert.equal(bad.status, 400);
      await sleep(200);
      assert.equal(reached, 0);
      assert.equal(gw.counters.egressRefused - before.egressRefused, 3);
      assert.equal(gw.counters.egressHost, before.egressHost);
      assert.equal(gw.counters.egressNetns, before.egressNetns);
      assert.ok(logs.some((l) => l.includes(`egress refused: CONNECT ${own}:${SENTINEL_PORT}`)));
    } finally {
      sentinel.close();
    }
  });

  it("dialThroughGateway gives host processes (the agent's probes and port-forward) the same path, greeting intact", async () => {
    const s = await dialThroughGateway(socket, POD_IP, 5432);
    s.resume();
    assert.equal(await conversation(s, 'q'), 'hello from web-0\nQbye after 1 bytes\n');
    await assert.rejects(dialThroughGateway(socket, '10.97.0.1', 443), (e: unknown) => e instanceof EgressError && e.status === 403 && /not loopback/.test(e.message));
    await assert.rejects(dialThroughGateway(socket, POD_IP, 1), (e: unknown) => e instanceof EgressError && e.status === 502);
  });

  it('answers 502 when a cluster address does not answer', async () => {
    const r = await connectThrough(socket, `${POD_IP}:1`);
    assert.equal(r.status, 502);
    assert.match(r.body, /ECONNREFUSED/);
  });

  it('mirrors the pod and the ClusterIP on host loopback; greetings, echoes and half-closes go through', async () => {
    const viaPod = JSON.parse(await httpOver(await dial(`127.${P}.0.10`, 8080)));
    assert.equal(viaPod.server, 'web-0');
    const viaSvc = JSON.parse(await httpOver(await dial(`127.${S}.0.50`, 80)));
    assert.equal(viaSvc.port, 8080);
    // The server speaks first; the client half-closes and still reads the server's last words.
    assert.equal(await conversation(await dial(`127.${P}.0.10`, 5432), 'abc'), 'hello from web-0\nABCbye after 3 bytes\n');
    const c = await connectThrough(socket, `${POD_IP}:5432`);
    assert.equal(await conversation(c.socket!, 'xyz'), 'hello from web-0\nXYZbye after 3 bytes\n');
  });

  it('moves a large stream intact through a mirror', async () => {
    const s = await dial(`127.${P}.0.10`, 5432);
    const payload = Buffer.alloc(8 * 1024 * 1024, 'q');
    const got = await new Promise<number>((resolve, reject) => {
      let n = 0;
      s.on('data', (d: Buffer) => (n += d.length));
      s.on('close', () => resolve(n));
      s.on('error', reject);
      s.end(payload);
    });
    assert.equal(got, 'hello from web-0\n'.length + payload.length + `bye after ${payload.length} bytes\n`.length);
  });

  it('serves ClusterIPs to pods: a selector Service, a loopback pod of the old agent, and `kubernetes` to the API server', async () => {
    const web = JSON.parse(await inNetns(POD_NS, ['curl', '-sS', '--max-time', '10', `http://${SVC_IP}/x`]));
    assert.deepEqual([web.server, web.url], ['web-0', '/x']);
    const old = await inNetns(POD_NS, ['curl', '-sS', '--max-time', '10', 'http://10.96.0.51:7000/']);
    assert.equal(old, 'loopback pod\n');
    const api = JSON.parse(await inNetns(POD_NS, ['curl', '-sS', '--max-time', '10', 'http://10.96.0.1:443/']));
    assert.deepEqual(api, { server: 'api', remote: '127.0.0.1' });
    const node = JSON.parse(await inNetns(POD_NS, ['curl', '-sS', '--max-time', '10', `http://10.244.0.1:${API_PORT}/`]));
    assert.equal(node.server, 'api');
    // Inside the node namespace, the host's API server URL works as it is.
    assert.equal(JSON.parse(await inNetns(NODE_NS, ['curl', '-sS', '--max-time', '10', `http://127.0.0.1:${API_PORT}/`])).server, 'api');
  });

  it('rejects a ClusterIP whose Service has no ready endpoint', async () => {
    gw.update({ ...state, pods: state.pods.map((p) => (p.metadata!.name === 'web' ? { ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'False' }] } } : p)) });
    await sleep(100);
    const r = await inNetns(POD_NS, ['sh', '-c', `curl -sS --max-time 5 http://${SVC_IP}/ 2>&1; echo rc=$?`]);
    assert.match(r, /rc=(7|56)/);
    gw.update(state);
  });

  it('opens a mirror on demand for a port the pod does not declare', async () => {
    const r = await control(socket, 'POST', `/mirrors?ip=${POD_IP}&port=9000`);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { host: `127.${P}.0.10`, port: 9000 });
    assert.equal(JSON.parse(await httpOver(await dial(`127.${P}.0.10`, 9000))).port, 9000);
    const bad = await control(socket, 'POST', '/mirrors?ip=192.0.2.1&port=80');
    assert.equal(bad.status, 400);
  });

  it('keeps serving after its worker in the namespace is killed', async () => {
    const pid = netns.workerPid!;
    process.kill(pid, 'SIGKILL');
    await eventually('a new worker', async () => netns.alive && netns.workerPid !== pid, 20_000, 50);
    assert.equal(JSON.parse(await httpOver(await dial(`127.${P}.0.10`, 8080))).server, 'web-0');
    assert.equal(JSON.parse(await inNetns(POD_NS, ['curl', '-sS', '--max-time', '10', `http://${SVC_IP}/`])).server, 'web-0');
  });

  it('closes a mirror when its pod goes away', async () => {
    gw.update({ ...state, pods: state.pods.filter((p) => p.metadata!.name !== 'web') });
    await eventually('pod mirror closed', async () => !(gw.status().mirrors as string[]).includes(`127.${P}.0.10:8080`), 10_000, 50);
    await assert.rejects(dial(`127.${P}.0.10`, 8080), /ECONNREFUSED/);
    gw.update(state);
  });

  it('with the Service proxy off (kube-proxy in the namespace) keeps egress, mirrors and the node forward; ClusterIPs follow DNAT', async () => {
    await gw.close();
    await configureServiceRoute(netnsPath(NODE_NS), false);
    // What kube-proxy's iptables mode writes for the Service, inside the node namespace only.
    await inNetns(NODE_NS, ['iptables', '-t', 'nat', '-A', 'OUTPUT', '-d', `${SVC_IP}/32`, '-p', 'tcp', '--dport', '80', '-j', 'DNAT', '--to-destination', `${POD_IP}:8080`]);
    gw = new Gateway({ netns, egressSocket: socket, apiserver: { host: '127.0.0.1', port: API_PORT }, plan, serviceProxy: false, dialTimeoutMs: 3000, log: (m) => logs.push(m) });
    await gw.start();
    gw.update(state);
    await eventually('mirrors open', async () => (gw.status().mirrors as string[]).includes(`127.${S}.0.50:80`), 20_000, 50);
    // The two node forwards open independently of the mirrors: wait for both.
    await eventually('node forwards open', async () => (gw.status().services as string[]).length === 2, 20_000, 50);
    assert.deepEqual(gw.status().services, [`node:10.244.0.1:${API_PORT}`, `node:127.0.0.1:${API_PORT}`]);
    const viaEgress = await connectThrough(socket, `${SVC_IP}:80`);
    assert.equal(JSON.parse(await httpOver(viaEgress.socket!)).port, 8080);
    assert.equal(JSON.parse(await httpOver(await dial(`127.${S}.0.50`, 80))).server, 'web-0');
    assert.equal(JSON.parse(await httpOver(await dial(`127.${P}.0.10`, 8080))).server, 'web-0');
    assert.equal(JSON.parse(await inNetns(POD_NS, ['curl', '-sS', '--max-time', '10', `http://10.244.0.1:${API_PORT}/`])).server, 'api');
    // A ClusterIP kube-proxy has no rule for is not served by the gateway any more.
    const r = await inNetns(NODE_NS, ['sh', '-c', 'curl -sS --max-time 3 http://10.96.0.51:7000/ 2>&1; echo rc=$?']);
    assert.match(r, /rc=(7|28)/);
  });

  it('teardown leaves no namespace, mount, interface, address, route or sysctl behind', async () => {
    await gw.close();
    await netns.close();
    await stopChild(podServer);
    podServer = undefined;
    const deleted = await deleteClusterNetns(API_PORT);
    assert.deepEqual(deleted.sort(), [NODE_NS, POD_NS].sort());
    assert.deepEqual((await listNetns()).filter((n) => n.startsWith(NODE_NS)), []);
    assert.deepEqual(netnsMountsFor(NODE_NS), []);
    const now = await hostNetState();
    assert.deepEqual(now.links.filter((l) => !hostBefore.links.includes(l)), []);
    assert.deepEqual(now.addrs, hostBefore.addrs);
    assert.deepEqual(now.routes, hostBefore.routes);
    assert.equal(now.ipForward, hostBefore.ipForward);
  });
});
