// The restart behaviour with real processes: small node programs that serve a
// health endpoint on loopback, crash on cue, or refuse the fail-start flag.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_BACKOFF, earnsReset, parseFailStarts, restartDelay, type BackoffPolicy } from '../../../src/local/controlplane/backoff.ts';
import { FAIL_START_FLAG, ProcessSupervisor, type SupervisorHome } from '../../../src/local/controlplane/process-supervisor.ts';
import { readRecord, describeExit } from '../../../src/local/controlplane/restart-records.ts';
import { isAlive, launchCommand, processState, startProcess, stopProcess } from '../../../src/local/controlplane/supervisor.ts';
import type { Component } from '../../../src/local/controlplane/component.ts';
import { tmpDir } from '../../helpers/tls.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FAST: BackoffPolicy = { initialMs: 200, maxMs: 800, resetAfterMs: 1500, startAttempts: 3 };

/** Ports from this test's range: PGTLS_TEST_PORT_BASE + 80 … + 99 (or 22480). */
let nextPort = (Number(process.env.PGTLS_TEST_PORT_BASE) > 1024 ? Number(process.env.PGTLS_TEST_PORT_BASE) : 22400) + 80;

function home(): SupervisorHome {
  const d = tmpDir('pgtls-restart-');
  const h = { home: d, pids: join(d, 'pids'), logs: join(d, 'logs') };
  mkdirSync(h.pids, { recursive: true });
  return h;
}

/**
 * A node program serving 200 on /healthz. It counts its starts in `counter`
 * and exits with code 3 on the first `crashFirst` of them (before serving).
 * Node itself refuses the fail-start flag (exit code 9), as every component does.
 */
function server(name: string, dir: string, crashFirst = 0, laterStartsServeAfterMs = 0): Component {
  const port = nextPort++;
  const counter = join(dir, `${name}.starts`);
  const script = `
    const fs = require('node:fs');
    const n = (fs.existsSync(${JSON.stringify(counter)}) ? Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')) : 0) + 1;
    fs.writeFileSync(${JSON.stringify(counter)}, String(n));
    if (n <= ${crashFirst}) { console.error('fatal error: concurrent map read and map write (start ' + n + ')'); process.exit(3); }
    setTimeout(() => require('node:http').createServer((q, r) => r.end('ok')).listen(${port}, '127.0.0.1', () => console.log('serving, start ' + n)), n > 1 ? ${laterStartsServeAfterMs} : 0);
  `;
  return { name, binary: process.execPath, args: ['-e', script], links: [], ports: [port], health: { url: `http://127.0.0.1:${port}/healthz` } };
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('back-off policy', () => {
  it('starts at 1 s, doubles, and stops at the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 100].map((n) => restartDelay(DEFAULT_BACKOFF, n)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    assert.equal(restartDelay(DEFAULT_BACKOFF, 0), 1000);
  });
  it('resets only after a healthy while', () => {
    assert.equal(earnsReset(DEFAULT_BACKOFF, 0, 59_999, true), false);
    assert.equal(earnsReset(DEFAULT_BACKOFF, 0, 60_000, true), true);
    assert.equal(earnsReset(DEFAULT_BACKOFF, 0, 600_000, false), false);
  });
  it('launches a namespaced component through nsenter, restarts included, with the test flag after its own arguments', () => {
    const c: Component = { name: 'kubelet', binary: '/b/kubelet', args: ['--v=2'], links: [], ports: [], namespaces: { net: '/run/netns/n', mount: '/m/ns' } };
    const l = launchCommand(c, ['--x']);
    assert.equal(l.command, 'nsenter');
    assert.deepEqual(l.args, ['--net=/run/netns/n', '--mount=/m/ns', '--', '/b/kubelet', '--v=2', '--x']);
    assert.match(l.path, /^\/usr\/local\/sbin:/);
    assert.deepEqual(launchCommand({ ...c, namespaces: undefined }).args, ['--v=2']);
  });

  it('reads the fail-starts hook and names a bad entry', () => {
    assert.deepEqual(parseFailStarts(undefined), {});
    assert.deepEqual(parseFailStarts('cert-manager:2, node-agent:1'), { 'cert-manager': 2, 'node-agent': 1 });
    assert.throws(() => parseFailStarts('cert-manager=2'), /PGTLS_TEST_FAIL_STARTS: "cert-manager=2" is not <component>:<count>/);
  });
});

describe('process supervisor', () => {
  function supervisor(h: SupervisorHome, opts: ConstructorParameters<typeof ProcessSupervisor>[1] = {}) {
    const sup = new ProcessSupervisor(h, { policy: FAST, pollMs: 100, ...opts });
    cleanups.push(async () => sup.shutdown());
    return sup;
  }
  function stopLater(h: SupervisorHome, c: Component) {
    cleanups.push(() => stopProcess(h, c, 2000));
  }

  it('retries a component that exits during start-up, and records each failed start', async () => {
    const h = home();
    const c = server('flaky', h.home, 2);
    stopLater(h, c);
    const sup = supervisor(h);
    const said: string[] = [];
    const t0 = Date.now();
    const r = await sup.start(c, 10_000, (m) => said.push(m));
    assert.equal(r.restarts, 2);
    // Back-off between attempts: 200 ms, then 400 ms.
    assert.ok(Date.now() - t0 >= 600, `${Date.now() - t0} ms`);
    assert.equal(said.filter((m) => /flaky exited during start-up \(exit code 3\); start \d of 3/.test(m)).length, 2, said.join('\n'));
    const rec = readRecord(h.home, 'flaky')!;
    assert.equal(rec.state, 'running');
    assert.equal(rec.pid, r.pid);
    assert.equal(rec.restarts, 2);
    assert.deepEqual({ code: rec.lastExit?.code, signal: rec.lastExit?.signal, duringStart: rec.lastExit?.duringStart }, { code: 3, signal: null, duringStart: true });
    assert.match(rec.lastExit!.logTail.join('\n'), /concurrent map read and map write \(start 2\)/);
    assert.deepEqual(processState(h, c), { state: 'running', pid: r.pid });
  });

  it('gives up after the bounded attempts with the log tail, and does not restart it', async () => {
    const h = home();
    const c = server('broken', h.home, 99);
    const sup = supervisor(h);
    await assert.rejects(sup.start(c, 10_000), /broken exited during start-up 3 times \(last: exit code 3\)[\s\S]*concurrent map read and map write \(start 3\)/);
    assert.equal(readRecord(h.home, 'broken')?.state, 'failed');
    await sleep(1000);
    assert.equal(readFileSync(join(h.home, 'broken.starts'), 'utf8'), '3');
  });

  it('uses the fail-starts hook only for the first N spawns of the named component', async () => {
    const h = home();
    const c = server('hooked', h.home);
    stopLater(h, c);
    const sup = supervisor(h, { failStarts: { hooked: 1 } });
    const r = await sup.start(c, 10_000);
    assert.equal(r.restarts, 1);
    assert.equal(readRecord(h.home, 'hooked')?.lastExit?.code, 9);
    assert.match(readRecord(h.home, 'hooked')!.lastExit!.logTail.join('\n'), new RegExp(`bad option: ${FAIL_START_FLAG}`));
    // The hooked spawn never ran the program: one real start.
    assert.equal(readFileSync(join(h.home, 'hooked.starts'), 'utf8'), '1');
  });

  it('restarts a killed component with a doubling back-off, recording the signal', async () => {
    const h = home();
    const c = server('victim', h.home);
    stopLater(h, c);
    const sup = supervisor(h);
    const logs: string[] = [];
    sup.on('log', (m) => logs.push(m));
    const { pid } = await sup.start(c, 10_000);
    process.kill(pid, 'SIGKILL');
    const backoff = await until('back-off after the kill', () => {
      const r = readRecord(h.home, 'victim');
      return r?.state === 'backoff' ? r : undefined;
    });
    assert.equal(backoff.restarts, 1);
    assert.equal(backoff.lastExit?.signal, 'SIGKILL');
    assert.equal(backoff.lastExit?.duringStart, false);
    assert.equal(describeExit(backoff.lastExit!), 'signal SIGKILL');
    const second = await until('a new process', () => {
      const st = processState(h, c);
      return st.state === 'running' && st.pid !== pid ? st.pid : undefined;
    });
    assert.match(logs.join('\n'), /victim exited \(signal SIGKILL\) after [\d.]+ s; restart 1 in 0 s[\s\S]*victim restarted \(pid \d+, restart 1\)/);
    // The second kill within the reset window waits twice as long.
    await until('serving again', async () => (await fetch(c.health!.url).catch(() => undefined))?.ok);
    process.kill(second, 'SIGKILL');
    const again = await until('second back-off', () => {
      const r = readRecord(h.home, 'victim');
      return r?.state === 'backoff' && r.restarts === 2 ? r : undefined;
    });
    const wait = Date.parse(again.nextStartAt!) - Date.parse(again.lastExit!.at);
    // 400 ms (twice the first step); the exit may be noticed late on a loaded machine, but never a whole step late.
    assert.ok(wait >= 390 && wait < 800, `second back-off ${wait} ms`);
    const third = await until('a third process', () => {
      const st = processState(h, c);
      return st.state === 'running' && st.pid !== second ? st.pid : undefined;
    });
    // Healthy for resetAfterMs: the back-off starts over at the initial delay.
    await until('back-off reset', () => readRecord(h.home, 'victim')?.failures === 0, 5000);
    process.kill(third, 'SIGKILL');
    const reset = await until('third back-off', () => {
      const r = readRecord(h.home, 'victim');
      return r?.state === 'backoff' && r.restarts === 3 ? r : undefined;
    });
    assert.ok(Date.parse(reset.nextStartAt!) - Date.parse(reset.lastExit!.at) <= 250);
  });

  it('ends what a killed component left in its process group before restarting it', async () => {
    const h = home();
    const c = server('parent', h.home);
    const helperPid = join(h.home, 'helper.pid');
    // The component forks a helper into its own group (not detached), as a gateway forks its worker.
    c.args = ['-e', `require('node:fs').writeFileSync(${JSON.stringify(helperPid)}, String(require('node:child_process').spawn('sleep', ['300']).pid));\n${c.args[1]}`];
    stopLater(h, c);
    const sup = supervisor(h);
    const { pid } = await sup.start(c, 10_000);
    const helper = Number(await until('the helper pid', () => existsSync(helperPid) && readFileSync(helperPid, 'utf8')));
    assert.ok(isAlive(helper));
    process.kill(pid, 'SIGKILL');
    await until('the helper gone with its parent', () => !isAlive(helper), 5000);
    await until('restarted', () => {
      const st = processState(h, c);
      return st.state === 'running' && st.pid !== pid;
    });
  });

  it('watches an adopted process (not its child) and restarts it when it goes', async () => {
    const h = home();
    const c = server('adopted', h.home);
    stopLater(h, c);
    const pid = startProcess(h, c);
    await until('serving', async () => (await fetch(c.health!.url).catch(() => undefined))?.ok);
    const sup = supervisor(h);
    assert.deepEqual(sup.adopt(c), { pid, restarts: 0 });
    process.kill(pid, 'SIGKILL');
    await until('restarted', () => {
      const st = processState(h, c);
      return st.state === 'running' && st.pid !== pid;
    });
    const rec = readRecord(h.home, 'adopted')!;
    assert.equal(rec.restarts, 1);
    // Not our child: the exit status is not ours to read, and status says so.
    assert.equal(describeExit(rec.lastExit!), 'exited (status unknown: not started by this supervisor)');
  });

  it('starts nothing after shutdown, even with a restart pending', async () => {
    const h = home();
    const c = server('pending', h.home);
    stopLater(h, c);
    const sup = new ProcessSupervisor(h, { policy: { ...FAST, initialMs: 1500 }, pollMs: 100 });
    const { pid } = await sup.start(c, 10_000);
    process.kill(pid, 'SIGKILL');
    await until('back-off', () => readRecord(h.home, 'pending')?.state === 'backoff');
    sup.shutdown();
    assert.equal(readRecord(h.home, 'pending')?.state, 'stopped');
    await sleep(2500);
    assert.equal(processState(h, c).state, 'stale');
    assert.equal(readFileSync(join(h.home, 'pending.starts'), 'utf8'), '1');
  });

  it('a start that finds the process it restarted itself running waits for its health too', async () => {
    // A caller that asks for a start right after a crash (`pgtls up` after a kill) meets the restart in flight:
    // it resolves when that one answers, not at once (the operator's webhook answered 502 meanwhile).
    const h = home();
    const c = server('slowrestart', h.home, 0, 1500);
    stopLater(h, c);
    const sup = supervisor(h);
    const { pid } = await sup.start(c, 10_000);
    process.kill(pid, 'SIGKILL');
    const second = await until('the restart', () => {
      const st = processState(h, c);
      return st.state === 'running' && st.pid !== pid ? st.pid : undefined;
    });
    const r = await sup.start(c, 10_000);
    assert.equal(r.pid, second, 'the restarted process is kept, not a second one started');
    assert.ok((await fetch(c.health!.url).catch(() => undefined))?.ok, 'healthy when start resolves');
    assert.equal(readFileSync(join(h.home, 'slowrestart.starts'), 'utf8'), '2');
  });

  it('watches a process someone else started during the back-off instead of starting a second one', async () => {
    const h = home();
    const c = server('raced', h.home);
    stopLater(h, c);
    const sup = new ProcessSupervisor(h, { policy: { ...FAST, initialMs: 1000 }, pollMs: 100 });
    cleanups.push(async () => sup.shutdown());
    const { pid } = await sup.start(c, 10_000);
    process.kill(pid, 'SIGKILL');
    await until('back-off', () => readRecord(h.home, 'raced')?.state === 'backoff');
    const other = startProcess(h, c);
    await until('watching the other', () => readRecord(h.home, 'raced')?.pid === other, 5000);
    assert.equal(readFileSync(join(h.home, 'raced.starts'), 'utf8'), '2');
    assert.ok(isAlive(other));
    assert.ok(existsSync(join(h.pids, 'raced.pid')));
  });
});

describe('pid files', () => {
  it('come with the start time, so a reused pid is not taken for the component', () => {
    const h = home();
    // Our own pid runs node; a wrong start time makes it somebody else.
    writeFileSync(join(h.pids, 'n.pid'), `${process.pid}\n`);
    assert.equal(processState(h, { name: 'n', binary: process.execPath }).state, 'running');
    // A start time recorded for another pid does not apply.
    writeFileSync(join(h.pids, 'n.start'), `${process.pid + 1} 1\n`);
    assert.equal(processState(h, { name: 'n', binary: process.execPath }).state, 'running');
    writeFileSync(join(h.pids, 'n.start'), `${process.pid} 1\n`);
    const st = processState(h, { name: 'n', binary: process.execPath });
    assert.equal(st.state, 'stale');
    assert.match((st as { reason: string }).reason, /was reused by another process/);
  });
});
