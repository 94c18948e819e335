// The health and metrics listeners: address flags, what each path answers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseListenAddress, startEndpoints, formatAddress } from '../../../src/observability/http-server.ts';
import { endpointPlan } from '../../../src/cli/operator.ts';
import { OperatorMetrics } from '../../../src/observability/metrics.ts';

describe('listen addresses', () => {
  it('parses host:port, [v6]:port and :port (every interface)', () => {
    assert.deepEqual(parseListenAddress('--x', '127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListenAddress('--x', ':8080'), { port: 8080 });
    assert.deepEqual(parseListenAddress('--x', '[::1]:9'), { host: '::1', port: 9 });
    assert.deepEqual(parseListenAddress('--x', 'localhost:1'), { host: 'localhost', port: 1 });
    assert.equal(formatAddress({ host: '::1', port: 9 }), '[::1]:9');
    assert.equal(formatAddress({ port: 8080 }), ':8080');
  });

  it('refuses bad input naming the flag', () => {
    for (const bad of ['8080', 'host:80', '1.2.3.4:99999', '[1.2.3.4]:80', ':', '::1:80']) {
      assert.throws(() => parseListenAddress('--metrics-addr', bad), /--metrics-addr/, bad);
    }
  });

  it('process mode: loopback from --health-port, /metrics beside it; in a pod: separate addresses; 0 turns metrics off', () => {
    assert.deepEqual(endpointPlan({ healthPort: 16455 }), { health: { host: '127.0.0.1', port: 16455 }, metrics: { host: '127.0.0.1', port: 16455 } });
    assert.deepEqual(endpointPlan({ healthAddr: ':8081', metricsAddr: ':8080' }), { health: { port: 8081 }, metrics: { port: 8080 } });
    assert.deepEqual(endpointPlan({ healthPort: 1, metricsAddr: '0' }), { health: { host: '127.0.0.1', port: 1 } });
    assert.deepEqual(endpointPlan({}), { health: undefined, metrics: undefined });
    assert.throws(() => endpointPlan({ healthPort: 1, healthAddr: ':2' }), /not both/);
  });
});

describe('endpoints server', () => {
  it('answers /healthz, /readyz (?leader=true) and /metrics on loopback', async () => {
    const m = new OperatorMetrics();
    m.setLeading(false);
    let state = { leader: false, webhookReady: true, body: { identity: 'a' } };
    const ep = await startEndpoints({ host: '127.0.0.1', port: 0 }, { health: () => state, metrics: m });
    try {
      const get = async (p: string) => {
        const r = await fetch(`http://127.0.0.1:${ep.port}${p}`);
        return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
      };
      assert.equal((await get('/healthz')).status, 200);
      assert.equal((await get('/readyz')).status, 200);
      const notLeader = await get('/readyz?leader=true');
      assert.equal(notLeader.status, 503);
      assert.deepEqual(JSON.parse(notLeader.text), { ok: false, leader: false, identity: 'a' });
      state = { ...state, leader: true };
      assert.equal((await get('/readyz?leader=true')).status, 200);
      state = { ...state, webhookReady: false };
      assert.equal((await get('/readyz')).status, 503);
      const metrics = await get('/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.type ?? '', /^text\/plain/);
      assert.match(metrics.text, /^pgtls_leader 0$/m);
      assert.equal((await get('/other')).status, 404);
    } finally {
      await ep.close();
    }
  });

  it('a metrics-only listener has no health paths', async () => {
    const ep = await startEndpoints({ host: '127.0.0.1', port: 0 }, { metrics: new OperatorMetrics() });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${ep.port}/healthz`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${ep.port}/metrics`)).status, 200);
    } finally {
      await ep.close();
    }
  });
});
