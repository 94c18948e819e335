// The supervisor process itself (supervisor-main through tsx, as `pgtls up`
// spawns it), driven over its socket with small node programs as components.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { homeLayout } from '../../../src/local/home.ts';
import { ensureSupervisor, stopSupervisor, supervisorState } from '../../../src/local/controlplane/supervisor-client.ts';
import { socketPath } from '../../../src/local/controlplane/supervisor-daemon.ts';
import { readRecord } from '../../../src/local/controlplane/restart-records.ts';
import { isAlive, processState, stopProcess } from '../../../src/local/controlplane/supervisor.ts';
import type { Component } from '../../../src/local/controlplane/component.ts';
import { tmpDir } from '../../helpers/tls.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let nextPort = (Number(process.env.PGTLS_TEST_PORT_BASE) > 1024 ? Number(process.env.PGTLS_TEST_PORT_BASE) : 22400) + 70;

function layout() {
  const l = homeLayout(tmpDir('pgtls-supd-'));
  // The supervisor exits when the home's cluster.json goes; give it one.
  writeFileSync(l.clusterFile, '{}\n');
  return l;
}

function server(name: string, dir: string): Component {
  const port = nextPort++;
  const counter = join(dir, `${name}.starts`);
  const script = `
    const fs = require('node:fs');
    const n = (fs.existsSync(${JSON.stringify(counter)}) ? Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')) : 0) + 1;
    fs.writeFileSync(${JSON.stringify(counter)}, String(n));
    require('node:http').createServer((q, r) => r.end('ok')).listen(${port}, '127.0.0.1');
  `;
  return { name, binary: process.execPath, args: ['-e', script], links: [], ports: [port], health: { url: `http://127.0.0.1:${port}/` } };
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('supervisor process', () => {
  it('starts components, restarts one that is killed, and is found again by a second up', async () => {
    const l = layout();
    const c = server('svc', l.home);
    cleanups.push(() => stopProcess(l, c, 2000), () => stopSupervisor(l));
    const sup = await ensureSupervisor(l);
    const supPid = (supervisorState(l) as { pid: number }).pid;
    assert.equal(statSync(socketPath(l.home)).mode & 0o777, 0o600);
    const said: string[] = [];
    const { pid } = await sup.start(c, 10_000, (m) => said.push(m));
    assert.deepEqual(said, [`svc started (pid ${pid})`]);
    // Its parent is the supervisor, not us: it reads the exit status.
    assert.equal(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1], String(supPid));
    const events: string[] = [];
    const follower = await ensureSupervisor(l);
    await follower.watch((m) => events.push(m), () => {});
    process.kill(pid, 'SIGKILL');
    const next = await until('restarted', () => {
      const st = processState(l, c);
      return st.state === 'running' && st.pid !== pid ? st.pid : undefined;
    });
    await until('the restart event', () => events.some((e) => /svc restarted/.test(e)));
    assert.match(events.join('\n'), /svc exited \(signal SIGKILL\) after [\d.]+ s; restart 1 in 1 s/);
    const rec = readRecord(l.home, 'svc')!;
    assert.deepEqual([rec.restarts, rec.lastExit?.signal, rec.pid], [1, 'SIGKILL', next]);
    follower.close();
    sup.close();
    // A second `up` finds the same supervisor and adopts the running component.
    const again = await ensureSupervisor(l);
    assert.equal((supervisorState(l) as { pid: number }).pid, supPid);
    assert.deepEqual(await again.adopt(c), { pid: next, restarts: 1 });
    again.close();
  });

  it('stopped during a back-off, restarts nothing; and exits by itself when the home goes', async () => {
    const l = layout();
    const c = server('svc2', l.home);
    cleanups.push(() => stopProcess(l, c, 2000), () => stopSupervisor(l));
    const sup = await ensureSupervisor(l);
    const { pid } = await sup.start(c, 10_000, () => {});
    sup.close();
    process.kill(pid, 'SIGKILL');
    await until('back-off', () => readRecord(l.home, 'svc2')?.state === 'backoff');
    assert.equal(await stopSupervisor(l), 'stopped');
    assert.equal(existsSync(socketPath(l.home)), false);
    assert.equal(readRecord(l.home, 'svc2')?.state, 'stopped');
    await sleep(2000);
    assert.notEqual(processState(l, c).state, 'running');
    assert.equal(readFileSync(join(l.home, 'svc2.starts'), 'utf8'), '1');

    const l2 = layout();
    await ensureSupervisor(l2).then((s) => s.close());
    const st = supervisorState(l2);
    assert.equal(st.state, 'running');
    rmSync(l2.clusterFile);
    await until('the supervisor to exit', () => st.state === 'running' && !isAlive(st.pid), 10_000);
  });
});
