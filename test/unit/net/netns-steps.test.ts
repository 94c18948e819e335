import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterNetnsNames, nodeNetnsSteps, serviceRouteSteps } from '../../../src/local/net/netns.ts';
import { podMac, podNetnsSteps } from '../../../src/local/net/pod-netns.ts';

describe('net: namespace steps', () => {
  it('shapes the node namespace from inside it only', () => {
    const steps = nodeNetnsSteps('pgtls-21600');
    assert.deepEqual(steps, [
      ['ip', '-n', 'pgtls-21600', 'link', 'set', 'lo', 'up'],
      ['ip', '-n', 'pgtls-21600', 'addr', 'replace', '10.244.0.1/16', 'dev', 'pgtls0'],
      ['ip', '-n', 'pgtls-21600', 'link', 'set', 'pgtls0', 'address', '02:70:67:74:6c:01'],
      ['ip', '-n', 'pgtls-21600', 'link', 'set', 'pgtls0', 'up'],
      ['nsenter', '--net=/run/netns/pgtls-21600', 'sysctl', '-qw', 'net.ipv4.ip_forward=1'],
    ]);
    // No step touches the host: every `ip` has -n, the sysctl runs inside the namespace.
    for (const s of steps) assert.ok((s[0] === 'ip' && s[1] === '-n') || s[1]!.startsWith('--net='), s.join(' '));
  });

  it('routes ClusterIPs locally for the gateway, over the bridge for kube-proxy', () => {
    const ns = '/run/netns/pgtls-21600';
    assert.deepEqual(serviceRouteSteps(ns, true), [
      { args: ['--net=' + ns, 'ip', 'route', 'del', '10.96.0.0/16', 'dev', 'pgtls0'], mayFail: true },
      { args: ['--net=' + ns, 'ip', 'route', 'replace', 'local', '10.96.0.0/16', 'dev', 'lo'], mayFail: false },
    ]);
    assert.deepEqual(serviceRouteSteps(ns, false), [
      { args: ['--net=' + ns, 'ip', 'route', 'del', 'local', '10.96.0.0/16', 'dev', 'lo'], mayFail: true },
      { args: ['--net=' + ns, 'ip', 'route', 'replace', '10.96.0.0/16', 'dev', 'pgtls0', 'src', '10.244.0.1'], mayFail: false },
    ]);
  });

  it("picks the cluster's own namespaces for deletion, nobody else's", () => {
    const all = ['pgtls-21600', 'pgtls-21600-0123456789ab', 'pgtls-2160', 'pgtls-216000', 'pgtls-21601-aa', 'pgtls-exp', 'other'];
    assert.deepEqual(clusterNetnsNames(all, 21600), ['pgtls-21600', 'pgtls-21600-0123456789ab']);
  });

  it('plugs a pod namespace onto the bridge with a default route via the node', () => {
    const steps = podNetnsSteps({ nodeNetns: 'pgtls-21600', podNetns: 'pgtls-21600-abc', veth: 'vpabc', ip: '10.244.0.7' });
    assert.deepEqual(steps[0], ['ip', '-n', 'pgtls-21600', 'link', 'add', 'vpabc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'pgtls-21600-abc']);
    assert.deepEqual(steps.at(-1), ['ip', '-n', 'pgtls-21600-abc', 'route', 'add', 'default', 'via', '10.244.0.1', 'dev', 'eth0']);
    // eth0's MAC follows from its address (set before it comes up), so a reused address keeps its MAC.
    const mac = steps.findIndex((s) => s.join(' ') === 'ip -n pgtls-21600-abc link set eth0 address 0a:58:0a:f4:00:07');
    const up = steps.findIndex((s) => s.join(' ') === 'ip -n pgtls-21600-abc link set eth0 up');
    assert.ok(mac > 0 && mac < up, JSON.stringify(steps));
    assert.equal(podMac('10.244.255.1'), '0a:58:0a:f4:ff:01');
    assert.throws(() => podMac('10.244.0'), /not an IPv4 address/);
    assert.throws(() => podNetnsSteps({ nodeNetns: 'n', podNetns: 'p', veth: 'v'.repeat(16), ip: '10.244.0.7' }), /longer than 15/);
  });
});
