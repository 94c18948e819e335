import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { mirrors, serviceListeners, type ClusterState } from '../../../src/local/net/routes.ts';
import { addressPlanFor } from '../../../src/local/net/topology.ts';

const pod = (name: string, ip: string | undefined, ready: boolean, extra: Partial<V1Pod> = {}): V1Pod => ({
  metadata: { name, namespace: 'db', labels: { app: 'pg' }, ...extra.metadata },
  spec: { containers: [{ name: 'pg', ports: [{ name: 'db', containerPort: 5432 }, { name: 'metrics', containerPort: 9187 }, { containerPort: 53, protocol: 'UDP' }] }] },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], ...extra.status },
});
const svc = (name: string, clusterIP: string, spec: Partial<V1Service['spec']> = {}, ns = 'db'): V1Service => ({
  metadata: { name, namespace: ns },
  spec: { clusterIP, selector: { app: 'pg' }, ports: [{ name: 'primary', port: 5432, targetPort: 'db' as never }], ...spec },
});
const api = { host: '127.0.0.1', port: 21600 };
const state = (s: Partial<ClusterState>): ClusterState => ({ services: [], pods: [], slices: [], ...s });

describe('net: routes', () => {
  it('serves each ClusterIP port with the ready pods behind it, named target ports resolved', () => {
    const pods = [pod('pg-0', '10.244.0.5', true), pod('pg-1', '10.244.0.6', false), pod('pg-2', '127.30.0.9', true), pod('gone', '10.244.0.8', true, { status: { phase: 'Succeeded' } })];
    const l = serviceListeners(state({ services: [svc('pg', '10.96.0.20')], pods }), api, true);
    const s = l.find((x) => x.key === 'svc:10.96.0.20:5432')!;
    assert.equal(s.name, 'db/pg:5432');
    // Loopback pods of today's agent stay endpoints (dialled on the host) until pods live on the bridge.
    assert.deepEqual(s.endpoints, [{ host: '10.244.0.5', port: 5432 }, { host: '127.30.0.9', port: 5432 }]);
    const notReady = serviceListeners(state({ services: [svc('pg', '10.96.0.20', { publishNotReadyAddresses: true })], pods }), api, true);
    assert.equal(notReady.find((x) => x.key === 'svc:10.96.0.20:5432')!.endpoints.length, 3);
  });

  it("always forwards the node address and the namespace's loopback to the API server; headless Services get no listener", () => {
    const l = serviceListeners(state({ services: [svc('pg-pods', 'None')] }), api, true);
    assert.deepEqual(l, [
      { key: 'node:10.244.0.1:21600', ip: '10.244.0.1', port: 21600, name: 'kube-apiserver (node address)', endpoints: [api] },
      { key: 'node:127.0.0.1:21600', ip: '127.0.0.1', port: 21600, name: "kube-apiserver (the namespace's loopback)", endpoints: [api] },
    ]);
  });

  it('points the kubernetes Service at the API server', () => {
    const k = svc('kubernetes', '10.96.0.1', { selector: undefined, ports: [{ name: 'https', port: 443, targetPort: 21600 as never }] }, 'default');
    const l = serviceListeners(state({ services: [k] }), api, true);
    assert.deepEqual(l.find((x) => x.ip === '10.96.0.1'), { key: 'svc:10.96.0.1:443', ip: '10.96.0.1', port: 443, name: 'default/kubernetes:443', endpoints: [api] });
  });

  it('takes endpoints of a Service without selector from its EndpointSlices, cluster addresses only', () => {
    const s = svc('hook', '10.96.0.30', { selector: undefined, ports: [{ name: 'https', port: 443, targetPort: 8443 as never }] });
    const slice: V1EndpointSlice = {
      metadata: { name: 'hook-1', namespace: 'db', labels: { 'kubernetes.io/service-name': 'hook' } },
      addressType: 'IPv4',
      ports: [{ name: 'https', port: 8443, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.0.40'] },
        { addresses: ['10.244.0.41'], conditions: { ready: false } },
        { addresses: ['192.0.2.9'] },
      ],
    };
    const l = serviceListeners(state({ services: [s], slices: [slice] }), api, true);
    assert.deepEqual(l.find((x) => x.ip === '10.96.0.30')!.endpoints, [{ host: '10.244.0.40', port: 8443 }]);
  });

  it('with the Service proxy off keeps only the API server forwards', () => {
    const l = serviceListeners(state({ services: [svc('pg', '10.96.0.20')], pods: [pod('pg-0', '10.244.0.5', true)] }), api, false);
    assert.deepEqual(l.map((x) => x.key), ['node:10.244.0.1:21600', 'node:127.0.0.1:21600']);
  });

  it('mirrors declared TCP pod ports, Service ports and on-demand addresses onto host loopback', () => {
    const plan = addressPlanFor(21600);
    const m = mirrors(
      { pods: [pod('pg-0', '10.244.0.5', false), pod('old', '127.30.0.9', true)], services: [svc('pg', '10.96.0.20'), svc('pg-pods', 'None')] },
      plan,
      [{ host: '10.244.0.5', port: 8080 }, { host: '192.0.2.1', port: 80 }],
    );
    const P = plan.podOctet;
    const S = plan.serviceOctet;
    assert.deepEqual(
      m.map((x) => [x.bind, x.port, x.target.host, x.target.port]),
      [
        [`127.${P}.0.5`, 5432, '10.244.0.5', 5432],
        [`127.${P}.0.5`, 9187, '10.244.0.5', 9187],
        [`127.${S}.0.20`, 5432, '10.96.0.20', 5432],
        [`127.${P}.0.5`, 8080, '10.244.0.5', 8080],
      ],
    );
  });
});
