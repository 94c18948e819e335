// Issue 13, item 4: the local cluster's supervisor. Components that crash at
// start are retried (cert-manager, the node agent and the operator are made to
// fail their first starts by the PGTLS_TEST_FAIL_STARTS hook: a flag the real
// binaries refuse); components SIGKILLed later come back healthy with the
// restart counted, and the cluster still provisions a TLS Postgres; `down`
// during a back-off leaves nothing running.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkHealth, processState } from '../../src/local/controlplane/supervisor.ts';
import { supervisorState } from '../../src/local/controlplane/supervisor-client.ts';
import { readRecord } from '../../src/local/controlplane/restart-records.ts';
import { repoRoot } from '../../src/util/repo.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, runOk, sleep } from '../helpers/exec.ts';
import { makeCa, tmpDir } from '../helpers/tls.ts';

const NS = 'demo';

interface StatusJson {
  supervisor: { state: string; pid?: number };
  components: {
    name: string;
    process: { state: string; pid?: number };
    healthy: boolean;
    supervised?: { state: string; restarts: number; lastExit?: { code: number | null; signal: string | null; duringStart: boolean; logTail: string[] } };
  }[];
}

/** The processes whose command line names this home: everything a cluster runs has its files there. */
function processesOf(home: string): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(home)) out.push(`${p}: ${cmd.slice(0, 200)}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('supervisor: the local cluster restarts what crashes', { timeout: 25 * 60_000 }, () => {
  let c: TestCluster;
  // A fresh CLI process loads the whole program through tsx: tens of seconds on a loaded machine.
  const pgtls = (args: string[]) => runOk(process.execPath, [join(repoRoot(), 'bin', 'pgtls.mjs'), ...args], { env: c.env, timeoutMs: 300_000 });
  const statusJson = async () => JSON.parse(await pgtls(['status', '--json'])) as StatusJson;
  /** What `status` reports for one component, read in this process (for polling). */
  const component = async (name: string): Promise<StatusJson['components'][number]> => {
    const comp = c.handle.components.find((x) => x.name === name)!;
    const p = processState(c.layout, comp);
    return { name, process: p, healthy: p.state === 'running' && (await checkHealth(comp)), supervised: readRecord(c.layout.home, name) };
  };

  before(async () => {
    // Read by the supervisor `up` spawns: these components' first starts exit with a usage error.
    process.env.PGTLS_TEST_FAIL_STARTS = 'cert-manager:2,node-agent:1,operator:1';
    try {
      // Operator as a host process: the supervisor restarts the operator process.
      c = await startTestCluster({ operator: true });
    } finally {
      delete process.env.PGTLS_TEST_FAIL_STARTS;
    }
    await c.createNamespace(NS);
  });
  after(async () => {
    await c?.destroy();
  });

  it('up succeeds when components crash during start-up: the failed starts are retried and counted', async () => {
    const st = await statusJson();
    assert.equal(st.supervisor.state, 'running');
    for (const [name, failed] of [['cert-manager', 2], ['node-agent', 1], ['operator', 1], ['etcd', 0], ['kube-apiserver', 0]] as const) {
      const x = st.components.find((y) => y.name === name)!;
      assert.equal(x.process.state, 'running', name);
      assert.equal(x.healthy, true, name);
      assert.equal(x.supervised?.restarts, failed, name);
      if (failed > 0) {
        assert.equal(x.supervised?.lastExit?.duringStart, true, name);
        assert.notEqual(x.supervised?.lastExit?.code, 0, name);
        assert.ok(x.supervised!.lastExit!.logTail.length > 0, name);
        assert.match(readFileSync(join(c.layout.logs, `${name}.log`), 'utf8'), /unknown (flag|option).*--pgtls-test-fail-start/, name);
      }
    }
    // The human form, from a fresh process.
    assert.match(await pgtls(['status']), /cert-manager\s+running\s+pid \d+\n\s+restarts 2; last exit exit code \d+ \d+ \w+ ago during start-up\n/);
  });

  // The net gateway runs where the host can make network namespaces; its worker goes with it.
  for (const name of ['cert-manager', 'node-agent', 'operator', 'net-gateway']) {
    it(`${name} SIGKILLed comes back healthy, and the restart is counted`, async (t) => {
      if (!c.handle.components.some((x) => x.name === name)) {
        t.skip(`${name} is not part of this cluster`);
        return;
      }
      const before = await component(name);
      const comp = c.handle.components.find((x) => x.name === name)!;
      const st = processState(c.layout, comp);
      assert.equal(st.state, 'running');
      if (st.state !== 'running') return;
      process.kill(st.pid, 'SIGKILL');
      const after = await eventually(`${name} restarted and healthy`, async () => {
        const x = await component(name);
        return x.process.state === 'running' && x.process.pid !== st.pid && x.healthy ? x : undefined;
      }, 180_000, 500);
      assert.equal(after.supervised?.restarts, (before.supervised?.restarts ?? 0) + 1);
      assert.equal(after.supervised?.lastExit?.signal, 'SIGKILL');
      assert.equal(after.supervised?.lastExit?.duringStart, false);
      assert.match(readFileSync(join(c.layout.logs, 'supervisor.log'), 'utf8'), new RegExp(`${name} exited \\(signal SIGKILL\\)[^\\n]*\\n[^\\n]*${name} restarted \\(pid ${after.process.pid}`));
      // And `pgtls status`, a fresh process, says so.
      const listed = (await statusJson()).components.find((x) => x.name === name)!;
      assert.deepEqual([listed.process.pid, listed.supervised?.restarts, listed.supervised?.lastExit?.signal], [after.process.pid, after.supervised?.restarts, 'SIGKILL']);
    });
  }

  it('after the restarts the cluster still provisions a Postgres with TLS from a cert-manager Issuer', async () => {
    const ca = await makeCa(tmpDir(), '/CN=ca/O=kubedb');
    await c.kubectlOk(['create', 'secret', 'tls', 'pg-ca', `--cert=${ca.crt}`, `--key=${ca.key}`, `--namespace=${NS}`]);
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'pg-issuer', namespace: NS }, spec: { ca: { secretName: 'pg-ca' } } }));
    const pg = {
      apiVersion: 'kubedb.com/v1',
      kind: 'Postgres',
      metadata: { name: 'pg', namespace: NS },
      spec: {
        version: '15',
        replicas: 1,
        storageType: 'Durable',
        storage: { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        sslMode: 'verify-full',
        tls: { issuerRef: { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } },
        deletionPolicy: 'WipeOut',
      },
    };
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify(pg));
    await eventually('pg Ready', async () => (await c.kubectlOk(['-n', NS, 'get', 'pg', 'pg', '-o', 'jsonpath={.status.phase}'])) === 'Ready' || undefined, 300_000, 1000);
    assert.match(await c.kubectlOk(['-n', NS, 'exec', 'pg-0', '--', 'psql', '-U', 'postgres', '-h', '/var/run/postgresql', '-Atc', 'show ssl']), /^on/);
  });

  it('down while a component waits out its back-off leaves nothing running, and nothing starts later', async () => {
    const comp = c.handle.components.find((x) => x.name === 'kube-scheduler')!;
    // Two kills in a row: the second back-off is 2 s, time enough to run `down` inside it.
    for (let i = 0; i < 2; i++) {
      const st = processState(c.layout, comp);
      assert.equal(st.state, 'running');
      if (st.state === 'running') process.kill(st.pid, 'SIGKILL');
      const inBackoff = await eventually('kube-scheduler in back-off', async () => {
        const r = readRecord(c.layout.home, 'kube-scheduler');
        return r?.state === 'backoff' && r.restarts === i + 1 ? r : undefined;
      }, 30_000, 50);
      if (i === 0) {
        await eventually('kube-scheduler restarted', async () => processState(c.layout, comp).state === 'running' || undefined, 30_000, 100);
        continue;
      }
      assert.ok(Date.parse(inBackoff.nextStartAt!) - Date.now() > 500, `back-off left: ${Date.parse(inBackoff.nextStartAt!) - Date.now()} ms`);
    }
    await c.stop();
    assert.equal(supervisorState(c.layout).state !== 'running', true);
    assert.equal(readRecord(c.layout.home, 'kube-scheduler')?.state, 'stopped');
    assert.deepEqual(processesOf(c.layout.home), []);
    // Past the back-off: still nothing.
    await sleep(4000);
    assert.deepEqual(processesOf(c.layout.home), []);
    for (const x of c.handle.components) assert.notEqual(processState(c.layout, x).state, 'running', x.name);
    assert.match(await pgtls(['status']), /supervisor\s+stopped/);
  });
});
