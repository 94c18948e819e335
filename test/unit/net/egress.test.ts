import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { egressRoute, parseConnectTarget } from '../../../src/local/net/egress-policy.ts';
import { egressSelectorConfig } from '../../../src/local/net/egress-config.ts';

describe('net: egress', () => {
  it('parses CONNECT targets', () => {
    assert.deepEqual(parseConnectTarget('10.96.0.12:443'), { host: '10.96.0.12', port: 443 });
    assert.deepEqual(parseConnectTarget('LocalHost:9443'), { host: 'localhost', port: 9443 });
    assert.deepEqual(parseConnectTarget('[::1]:10250'), { host: '::1', port: 10250 });
    for (const bad of ['10.96.0.12', ':443', '10.96.0.12:0', '10.96.0.12:65536', 'a b:1', '/x:1', 'user@h:1', '10.96.0.12:443/x', '']) {
      assert.throws(() => parseConnectTarget(bad), /CONNECT (target|port)/, bad);
    }
  });

  it('routes loopback to the host, the cluster network to the namespace, refuses the rest', () => {
    assert.deepEqual(egressRoute({ host: '127.0.0.1', port: 16453 }), { via: 'host', host: '127.0.0.1', port: 16453 });
    assert.deepEqual(egressRoute({ host: 'localhost', port: 9443 }), { via: 'host', host: '127.0.0.1', port: 9443 });
    assert.deepEqual(egressRoute({ host: '::1', port: 1 }), { via: 'host', host: '::1', port: 1 });
    assert.deepEqual(egressRoute({ host: '10.96.4.5', port: 443 }), { via: 'netns', host: '10.96.4.5', port: 443 });
    assert.deepEqual(egressRoute({ host: '10.244.0.1', port: 10250 }), { via: 'netns', host: '10.244.0.1', port: 10250 });
    for (const host of ['192.0.2.2', '10.97.0.1', '10.1.2.3', '8.8.8.8', 'fd00::2', 'webhook.default.svc', 'example.com']) {
      const r = egressRoute({ host, port: 443 });
      assert.equal(r.via, 'refuse', host);
      assert.match((r as { reason: string }).reason, /not loopback and not in the pod network 10\.244\.0\.0\/16 or the Service network 10\.96\.0\.0\/16/);
    }
  });

  it('renders the API server egress selector: cluster and controlplane through the socket, etcd direct', () => {
    const cfg = parse(egressSelectorConfig('/root/.pgtls/run/egress.sock'));
    const via = { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: '/root/.pgtls/run/egress.sock' } } };
    assert.deepEqual(cfg, {
      apiVersion: 'apiserver.k8s.io/v1beta1',
      kind: 'EgressSelectorConfiguration',
      egressSelections: [
        { name: 'cluster', connection: via },
        { name: 'controlplane', connection: via },
      ],
    });
    assert.throws(() => egressSelectorConfig('/' + 'x'.repeat(120)), /at most 107/);
    assert.throws(() => egressSelectorConfig('run/egress.sock'), /must be absolute/);
  });
});
