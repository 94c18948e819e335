// The gateway's CONNECT proxy and Service mirrors, on real unix and loopback sockets.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowedTarget, dialThroughEgress, mirrorsFor, parseConnect, podMirrorsFor, serveEgress, serveUnixToTcp } from '../../../../src/local/kubelet/gateway.ts';
import { addressPlanFor } from '../../../../src/local/net/topology.ts';

const dir = mkdtempSync(join(tmpdir(), 'pgtls-gw-'));
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function echoServer(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer((c) => c.pipe(c));
    servers.push(s);
    s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
  });
}

function roundTrip(sock: import('node:net').Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    sock.once('data', (d: Buffer) => resolve(d.toString()));
    sock.once('error', reject);
    sock.write(text);
  });
}

describe('node gateway', () => {
  it('parses CONNECT requests and nothing else', () => {
    assert.deepEqual(parseConnect('CONNECT 10.244.0.1:10250 HTTP/1.1\r\nHost: x\r\n\r\n'), { host: '10.244.0.1', port: 10250 });
    assert.equal(parseConnect('GET / HTTP/1.1\r\n\r\n'), undefined);
    assert.equal(parseConnect('CONNECT 10.244.0.1:99999 HTTP/1.1\r\n\r\n'), undefined);
  });

  it('dials only addresses that live in the node namespace', () => {
    for (const ok of ['10.244.0.1', '10.244.3.7', '10.96.0.10', '127.0.0.1']) assert.ok(allowedTarget(ok), ok);
    for (const no of ['10.255.255.53', '192.168.1.1', '8.8.8.8', 'pgtls-node', '::1']) assert.ok(!allowedTarget(no), no);
  });

  it('tunnels an allowed target and refuses the others with 403', async () => {
    const egress = join(dir, 'egress.sock');
    servers.push(serveEgress(egress));
    const port = await echoServer();
    await new Promise((r) => setTimeout(r, 50));
    const tunnel = await dialThroughEgress(egress, '127.0.0.1', port);
    assert.equal(await roundTrip(tunnel, 'ping'), 'ping');
    tunnel.destroy();
    await assert.rejects(dialThroughEgress(egress, '192.168.1.1', 80), /403 Forbidden/);
  });

  it('carries a unix socket to a TCP port on loopback (the API server side)', async () => {
    const sock = join(dir, 'api.sock');
    const port = await echoServer();
    servers.push(serveUnixToTcp(sock, '127.0.0.1', port));
    await new Promise((r) => setTimeout(r, 50));
    const c = connect(sock);
    assert.equal(await roundTrip(c, 'hello'), 'hello');
    c.destroy();
  });
});

describe('Service mirrors', () => {
  it('mirrors each TCP port of each ClusterIP Service on 127.S.c.d', () => {
    const plan = addressPlanFor(21800);
    const m = mirrorsFor(
      [
        { spec: { clusterIP: '10.96.3.4', ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] } },
        { spec: { clusterIP: 'None', ports: [{ port: 5432 }] } },
      ],
      plan,
    );
    assert.deepEqual(m, [{ listen: { host: `127.${plan.serviceOctet}.3.4`, port: 80 }, target: { host: '10.96.3.4', port: 80 } }]);
  });

  it('mirrors the declared TCP ports of running pods on 127.P.a.b', () => {
    const plan = addressPlanFor(21800);
    const running = { phase: 'Running', podIP: '10.244.0.7' };
    const m = podMirrorsFor(
      [
        { spec: { containers: [{ name: 'a', ports: [{ containerPort: 5432 }, { containerPort: 53, protocol: 'UDP' }] }] }, status: running },
        { spec: { containers: [{ name: 'b', ports: [{ containerPort: 80 }] }] }, status: { phase: 'Pending' } },
        { spec: { hostNetwork: true, containers: [{ name: 'c', ports: [{ containerPort: 81 }] }] }, status: running },
      ],
      plan,
    );
    assert.deepEqual(m, [{ listen: { host: `127.${plan.podOctet}.0.7`, port: 5432 }, target: { host: '10.244.0.7', port: 5432 } }]);
  });
});
