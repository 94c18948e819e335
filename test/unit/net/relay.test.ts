import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relay } from '../../../src/local/net/relay.ts';

const listening = (srv: ReturnType<typeof createServer>, where: number | string) =>
  new Promise<void>((r) => (typeof where === 'number' ? srv.listen(where, '127.0.0.1', r) : srv.listen(where, r)));

describe('relay', () => {
  it('a reset from a TCP server reaches a unix-socket client as a close (a unix socket cannot send a reset)', async () => {
    // The API server's egress is a unix socket; a Service whose pod refuses mid-connection resets the TCP side.
    const tcp = createServer((s) => s.once('data', () => s.resetAndDestroy()));
    await listening(tcp, 0);
    const port = (tcp.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'pgtls-relay-'));
    const path = join(dir, 'egress.sock');
    let done = false;
    const unix = createServer((u) => {
      const t = connect(port, '127.0.0.1');
      relay(u, t, () => (done = true));
    });
    await listening(unix, path);
    try {
      const client: Socket = connect(path);
      client.on('error', () => {});
      client.write('hello');
      await new Promise<void>((r, j) => {
        client.once('close', () => r());
        setTimeout(() => j(new Error('the unix client was not closed within 5 s')), 5000).unref();
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(done, 'both sides of the relay closed');
    } finally {
      unix.close();
      tcp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
