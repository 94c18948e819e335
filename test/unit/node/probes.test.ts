// The HTTP probe connects only through the dial it is given (from inside the
// pod's network namespace), never by itself to the pod address from the host.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import type { V1Pod } from '@kubernetes/client-node';
import { runProbe } from '../../../src/local/node/probes.ts';

describe('HTTP probe', () => {
  it('goes through the dial (named port resolved), not to the pod address directly', async () => {
    const seen: string[] = [];
    const srv = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.host}`);
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const real = (srv.address() as AddressInfo).port;
    const dialed: string[] = [];
    try {
      const pod = { spec: { containers: [{ name: 'c', ports: [{ name: 'health', containerPort: 8081 }] }] } } as V1Pod;
      // 127.0.0.2:8081 has no listener: a probe that bypassed the dial would be refused.
      const r = await runProbe({ httpGet: { path: '/healthz', port: 'health' as never }, timeoutSeconds: 5 }, pod, '127.0.0.2', async () => ({ code: 1, output: '' }), (host, port) => {
        dialed.push(`${host}:${port}`);
        return connect(real, '127.0.0.1');
      });
      assert.deepEqual(r, { ok: true, message: '' });
      assert.deepEqual(dialed, ['127.0.0.2:8081']);
      assert.deepEqual(seen, ['/healthz 127.0.0.2:8081']);
    } finally {
      srv.close();
    }
  });
});
