import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dialDecision, inClusterNetwork, isLoopbackIp, mirrorPlanForServer, parseIPv4 } from '../../../src/local/net/addresses.ts';
import { podDialAddress } from '../../../src/local/net/pod-address.ts';
import { addressPlanFor, hostMirror } from '../../../src/local/net/topology.ts';

describe('net: addresses', () => {
  it('parses dotted IPv4 only', () => {
    assert.deepEqual(parseIPv4('10.244.1.2'), [10, 244, 1, 2]);
    for (const bad of ['10.244.1', '10.244.1.256', 'a.b.c.d', '::1', '10.244.1.2 ']) assert.equal(parseIPv4(bad), undefined, bad);
  });

  it('tells loopback and the cluster network apart', () => {
    for (const ip of ['127.0.0.1', '127.222.3.4', '::1']) assert.ok(isLoopbackIp(ip), ip);
    for (const ip of ['10.244.0.1', '192.0.2.2', 'fd00::2', 'localhost']) assert.ok(!isLoopbackIp(ip), ip);
    for (const ip of ['10.244.0.1', '10.244.255.7', '10.96.0.1', '10.96.3.4']) assert.ok(inClusterNetwork(ip), ip);
    for (const ip of ['10.97.0.1', '10.245.0.1', '127.0.0.1', '192.168.1.1', '10.96.0.300']) assert.ok(!inClusterNetwork(ip), ip);
  });

  it('derives the mirror plan from a loopback API server URL only', () => {
    assert.deepEqual(mirrorPlanForServer('https://127.0.0.1:16443'), addressPlanFor(16443));
    assert.deepEqual(mirrorPlanForServer('https://localhost:21600'), addressPlanFor(21600));
    assert.deepEqual(mirrorPlanForServer('https://[::1]:21600'), addressPlanFor(21600));
    assert.equal(mirrorPlanForServer('https://10.96.0.1:443'), undefined);
    assert.equal(mirrorPlanForServer('https://kubernetes.default.svc'), undefined);
    assert.equal(mirrorPlanForServer('not a url'), undefined);
  });

  it('maps pod and ClusterIP addresses onto their loopback mirrors, last two octets kept', () => {
    const plan = addressPlanFor(21600);
    assert.equal(hostMirror('10.244.3.7', plan), `127.${plan.podOctet}.3.7`);
    assert.equal(hostMirror('10.96.0.1', plan), `127.${plan.serviceOctet}.0.1`);
    assert.equal(hostMirror('192.0.2.1', plan), undefined);
  });

  it('decides how a client dials a pod: mirror on the host, direct in-cluster, never off the machine', () => {
    const plan = addressPlanFor(21600);
    assert.deepEqual(dialDecision('10.244.0.9', 5432, plan), { host: `127.${plan.podOctet}.0.9`, port: 5432 });
    assert.deepEqual(dialDecision('127.30.0.2', 5432, plan), { host: '127.30.0.2', port: 5432 });
    assert.deepEqual(dialDecision('10.244.0.9', 5432, undefined), { host: '10.244.0.9', port: 5432 });
    assert.match((dialDecision('192.0.2.5', 5432, plan) as { refused: string }).refused, /neither loopback nor in the cluster/);
  });

  it('podDialAddress follows the kubeconfig the operator runs with', () => {
    const kube = (server: string) => ({ kc: { getCurrentCluster: () => ({ server }) } });
    const plan = addressPlanFor(16443);
    assert.deepEqual(podDialAddress(kube('https://127.0.0.1:16443'), '10.244.1.2', 5432), { host: `127.${plan.podOctet}.1.2`, port: 5432 });
    assert.deepEqual(podDialAddress(kube('https://10.96.0.1:443'), '10.244.1.2', 5432), { host: '10.244.1.2', port: 5432 });
    assert.deepEqual(podDialAddress({}, '10.244.1.2', 5432), { host: '10.244.1.2', port: 5432 });
    assert.throws(() => podDialAddress(kube('https://127.0.0.1:16443'), '8.8.8.8', 53), /never dials it/);
  });
});
