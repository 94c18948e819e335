import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  assertPortFree,
  ComponentError,
  processState,
  startProcess,
  stopProcess,
  waitHealthy,
} from '../../../src/local/controlplane/supervisor.ts';
import type { Component } from '../../../src/local/controlplane/component.ts';
import { tmpDir } from '../../helpers/tls.ts';

function dirs() {
  const d = tmpDir('pgtls-sup-');
  const out = { pids: join(d, 'pids'), logs: join(d, 'logs') };
  mkdirSync(out.pids);
  return out;
}

const sh = (name: string, script: string, health?: string): Component => ({
  name,
  binary: '/bin/sh',
  args: ['-c', script],
  links: [],
  ports: [],
  health: health ? { url: health } : undefined,
});

describe('supervisor', () => {
  it('treats a pid file whose process is gone, or runs another program, as stale', async () => {
    const d = dirs();
    writeFileSync(join(d.pids, 'x.pid'), '999999\n');
    const st = processState(d, { name: 'x', binary: '/bin/sh' });
    assert.equal(st.state, 'stale');
    // Our own pid is alive but runs node, not /bin/sh: never treated as ours.
    writeFileSync(join(d.pids, 'x.pid'), `${process.pid}\n`);
    const other = processState(d, { name: 'x', binary: '/bin/sh' });
    assert.equal(other.state, 'stale');
    assert.match((other as { reason: string }).reason, /runs .*node.*, not \/bin\/sh/);
    // Stopping a stale entry signals nobody and clears the file.
    assert.equal(await stopProcess(d, sh('x', 'true')), 'not-running');
    assert.equal(existsSync(join(d.pids, 'x.pid')), false);
  });

  it('names the port and its owner when a port is taken', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      await assert.rejects(assertPortFree('127.0.0.1', port, 'kube-apiserver'), (e: Error) => {
        assert.ok(e instanceof ComponentError);
        assert.match(e.message, new RegExp(`port 127\\.0\\.0\\.1:${port}, needed by kube-apiserver, is already in use`));
        return true;
      });
    } finally {
      srv.close();
    }
  });

  it('reports a component that exits during start-up with its log, without waiting out the timeout', async () => {
    const d = dirs();
    const c = sh('crasher', 'echo "fatal: bad flag --nope" >&2; exit 3', 'http://127.0.0.1:1/');
    const pid = startProcess(d, c);
    const t0 = Date.now();
    await assert.rejects(waitHealthy(d, c, pid, 60_000), /crasher exited during start-up[\s\S]*fatal: bad flag --nope/);
    assert.ok(Date.now() - t0 < 10_000);
  });

  it('says which binary is missing', () => {
    const d = dirs();
    assert.throws(() => startProcess(d, { ...sh('x', ''), binary: '/nonexistent/kube-apiserver' }), /x: binary \/nonexistent\/kube-apiserver is missing; build it with `node scripts\/setup.mjs`/);
  });

  it('stops the whole process group, SIGKILLing what ignores SIGTERM', async () => {
    const d = dirs();
    // A parent that ignores SIGTERM, with a child in the same group.
    const c = sh('stubborn', "trap '' TERM; sleep 300 & wait");
    const pid = startProcess(d, c);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(processState(d, c), { state: 'running', pid });
    const t0 = Date.now();
    assert.equal(await stopProcess(d, c, 1000), 'stopped');
    assert.ok(Date.now() - t0 >= 900);
    assert.equal(processState(d, c).state, 'stopped');
  });
});
