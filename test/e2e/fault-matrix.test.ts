// Issue 13, item 3: the fault matrix. One cluster, one TLS Postgres (primary and
// standby, a table with a known checksum), and one fault per case while a
// ReconfigureTLS request runs. Every case ends with the same checks: every
// request Successful (or Failed with its rollback Event), the database not
// Paused, every pod serving, from the wire, the certificate in its Secret and
// verifying against the CA and the pod's DNS name, and the rows unchanged.
//
// Per-step operator kills run on Postgres only (a rotation and a CA change,
// which between them have every step of the step machine); the poolers share
// the same reconciler and step machine, so they are not killed step by step
// here (reconfigure-tls-poolers.test.ts covers their flows).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { up } from '../../src/local/controlplane/cluster.ts';
import { isAlive } from '../../src/local/controlplane/supervisor.ts';
import { probeTls } from '../../src/engines/shared/probe.ts';
import { localAddress } from '../../src/local/node/resolve.ts';
import { governingServiceName } from '../../src/provisioner/specs/services.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, sleep } from '../helpers/exec.ts';
import { createCaIssuers, postgresManifest, secretText, type OpsStatus } from '../helpers/ops.ts';

const NS = 'faults';
const DB = 'fm';
const PODS = [`${DB}-0`, `${DB}-1`];

type Cond = NonNullable<OpsStatus['conditions']>[number];
interface Op {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: OpsStatus;
}

describe('fault matrix: ReconfigureTLS survives every fault mid-request', { timeout: 30 * 60_000 }, () => {
  let c: TestCluster;
  let checksum: string;
  let cas: Record<string, string> = {};
  /** Measured per case (ms), printed at the end for docs/faults.md. */
  const timings: Record<string, number> = {};
  /** For each operator kill: the condition it waited for, and the step that was unfinished when it died. */
  const kills: { after: string; landedIn: string; restartMs: number }[] = [];
  /** How each request ended (a Failed one must have rolled back). */
  const outcomes: Record<string, string> = {};
  const log = (m: string) => process.stderr.write(`[faults] ${m}\n`);

  const psql = (pod: string, sql: string) => c.kubectlOk(['-n', NS, 'exec', pod, '-c', 'postgres', '--', 'psql', '-U', 'postgres', '-h', '/var/run/postgresql', '-Atc', sql]);
  const rowChecksum = async (pod = `${DB}-0`) => (await psql(pod, "select count(*) || ':' || md5(string_agg(id || '=' || v, ',' order by id)) from fault_rows")).trim();
  const getOp = (name: string) => c.kube.get<Op>('ops.kubedb.com/v1alpha1', 'PostgresOpsRequest', name, NS);
  const conds = async (name: string): Promise<Cond[]> => (await getOp(name))?.status?.conditions ?? [];
  /** `type` ending in `*` matches by prefix (`ReloadPod--*`: the first pod done). */
  const hasTrue = (cs: Cond[], type: string) => cs.some((x) => (type.endsWith('*') ? x.type.startsWith(type.slice(0, -1)) : x.type === type) && x.status === 'True');

  const rotate = (name: string, tls: object = { rotateCertificates: true }, timeout?: string) =>
    c.kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'ops.kubedb.com/v1alpha1',
      kind: 'PostgresOpsRequest',
      metadata: { name, namespace: NS },
      spec: { type: 'ReconfigureTLS', databaseRef: { name: DB }, tls, ...(timeout ? { timeout } : {}) },
    }));

  /** Polls the request straight from the API (no kubectl spawn) so a kill lands as close to the condition as it can. */
  const waitCondition = (name: string, type: string, timeoutMs = 180_000) =>
    eventually(`${name}: condition ${type}`, async () => {
      const cs = await conds(name);
      if (['Failed', 'Skipped'].includes((await getOp(name))?.status?.phase ?? '')) throw new Error(`${name} ended ${JSON.stringify(cs)}`);
      return hasTrue(cs, type);
    }, timeoutMs, 30);

  const waitDone = async (name: string, timeoutMs = 240_000) =>
    eventually(`${name} to finish`, async () => {
      const op = await getOp(name);
      const p = op?.status?.phase;
      return p === 'Successful' || p === 'Failed' || p === 'Skipped' ? op! : undefined;
    }, timeoutMs, 250);

  const pidOf = (component: string) => Number(readFileSync(join(c.layout.pids, `${component}.pid`), 'utf8'));
  const killComponent = async (component: string, signal: NodeJS.Signals) => {
    const pid = pidOf(component);
    process.kill(-pid, signal);
    await eventually(`${component} (pid ${pid}) to exit`, async () => !isAlive(pid), 60_000, 50);
  };
  /**
   * Stops cert-manager with SIGSTOP (its process group frozen, SIGCONT to go on): a stopped controller
   * that has not exited, so nothing (pgtls up, a supervisor) starts another in its place meanwhile.
   * Kept under cert-manager's 40 s renew deadline, so it keeps its lease when it goes on.
   */
  let frozen = false;
  const freeze = () => {
    process.kill(-pidOf('cert-manager'), 'SIGSTOP');
    frozen = true;
  };
  /** SIGCONT; then `pgtls up`, which starts cert-manager again should it have exited on a lost lease after all. */
  const thaw = async () => {
    if (!frozen) return;
    process.kill(-pidOf('cert-manager'), 'SIGCONT');
    frozen = false;
    await sleep(3_000);
    await bringUp();
  };
  /** Runs fn with cert-manager stopped; it goes on whatever fn does, so later cases have it. */
  const withCertManagerStopped = async (fn: () => Promise<void>) => {
    freeze();
    try {
      await fn();
    } finally {
      await thaw();
    }
  };
  /** `pgtls up` again: starts whatever is not running (as a supervisor or a person would) and waits until it is ready. */
  const bringUp = async () => {
    const t0 = Date.now();
    await up(c.layout, { log: (m) => log(`up: ${m}`), timeoutMs: 180_000 });
    return Date.now() - t0;
  };

  /** The first step whose condition is not there yet: where a kill landed. */
  const unfinished = (cs: Cond[], steps: string[]) => steps.find((s) => !hasTrue(cs, s)) ?? 'done';

  /** Kills the operator (SIGKILL, its whole process group) as soon as `afterCondition` is recorded, then starts it again. */
  const killOperatorAfter = async (name: string, afterCondition: string, steps: string[]) => {
    await waitCondition(name, afterCondition);
    await killComponent('operator', 'SIGKILL');
    const landedIn = unfinished(await conds(name), steps);
    const restartMs = await bringUp();
    kills.push({ after: afterCondition, landedIn, restartMs });
    log(`operator killed after ${afterCondition} (landed in ${landedIn}); back leading in ${restartMs} ms`);
  };

  /** What every case ends with. */
  const invariants = async (names: string[]) => {
    for (const n of names) {
      const op = await waitDone(n);
      const phase = op.status?.phase;
      outcomes[n] = phase ?? 'none';
      if (phase === 'Failed') {
        const reasons = await c.kubectlOk(['-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${n}`, '-o', 'jsonpath={.items[*].reason}']);
        assert.match(reasons, /RolledBack/, `${n} Failed without restoring the last working TLS: ${JSON.stringify(op.status)}`);
      } else assert.equal(phase, 'Successful', `${n}: ${JSON.stringify(op.status)}`);
    }
    await eventually(`${DB} not Paused and Ready`, async () => {
      const db = JSON.parse(await c.kubectlOk(['-n', NS, 'get', 'pg', DB, '-o', 'json']));
      return !db.status?.conditions?.some((x: Cond) => x.type === 'Paused' && x.status === 'True') && db.status?.phase === 'Ready';
    }, 120_000, 500);
    await eventually('every pod to serve the certificate in its Secret, verified', async () => {
      await assertServedVerified();
      return true;
    }, 60_000, 500);
    assert.equal(await rowChecksum(), checksum);
    await eventually('the standby to hold the same rows', async () => (await rowChecksum(`${DB}-1`)) === checksum, 60_000, 500);
  };

  /** Each pod, dialled through its loopback mirror, serves the server Secret's certificate, which verifies against ca.crt for the pod's DNS name. */
  const assertServedVerified = async () => {
    const crt = await secretText(c, NS, `${DB}-server-cert`, 'tls.crt');
    const ca = await secretText(c, NS, `${DB}-server-cert`, 'ca.crt');
    const want = new (await import('node:crypto')).X509Certificate(crt).fingerprint256;
    for (const pod of PODS) {
      const a = await localAddress(c.kube, { namespace: NS, pod, port: 5432 });
      const r = await probeTls({ host: a.host, port: a.port, serverName: `${pod}.${governingServiceName(DB)}.${NS}.svc` }, { timeoutMs: 3000, ca });
      if (r.kind !== 'tls') throw new Error(`${pod}: ${JSON.stringify(r)}`);
      if (!r.authorized) throw new Error(`${pod}: served certificate does not verify: ${r.authorizationError}`);
      if (r.fingerprint256 !== want) throw new Error(`${pod} serves ${r.serial}, not the Secret's certificate`);
    }
  };

  before(async () => {
    const t0 = Date.now();
    // Operator as a host process: kills and restarts the operator process at each step.
    c = await startTestCluster({ operator: true });
    await c.createNamespace(NS);
    cas = await createCaIssuers(c, NS, [
      ['fm-ca', 'fm-issuer', '/CN=fm-ca/O=faults'],
      ['fm-new-ca', 'fm-new-issuer', '/CN=fm-new-ca/O=faults'],
    ]);
    await c.kubectlOk(['apply', '-f', '-'], postgresManifest(DB, NS, {
      replicas: 2,
      sslMode: 'verify-full',
      tls: { issuerRef: { name: 'fm-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } },
    }));
    await eventually(`${DB} Ready`, async () => (await c.kubectlOk(['-n', NS, 'get', 'pg', DB, '-o', 'jsonpath={.status.phase}'])) === 'Ready', 300_000, 1000);
    await psql(`${DB}-0`, "create table fault_rows (id int primary key, v text); insert into fault_rows select g, md5(g::text) from generate_series(1, 5000) g");
    checksum = await rowChecksum();
    assert.match(checksum, /^5000:[0-9a-f]{32}$/);
    await eventually('the standby to replicate the rows', async () => (await rowChecksum(`${DB}-1`)) === checksum, 60_000, 500);
    await assertServedVerified();
    timings.setup = Date.now() - t0;
  });

  after(async () => {
    process.stderr.write(`fault matrix timings (ms): ${JSON.stringify(timings)}\n`);
    process.stderr.write(`fault matrix operator kills: ${JSON.stringify(kills)}\n`);
    process.stderr.write(`fault matrix outcomes: ${JSON.stringify(outcomes)}\n`);
    await c?.destroy();
  });

  // A rotation (reload path, no CA change): Pause, IssueCertificates, SyncCertificates, UpdatePetSets,
  // RollPods (a kill between its two pods too), UpdateDatabase, Resume.
  const ROTATE_STEPS = ['ReconfigureTLS', 'DatabasePauseSucceeded', 'IssueCertificatesSucceeded', 'CertificateSynced', 'UpdatePetSets', 'ReloadPods', 'UpdateDatabase', 'Successful'];

  it('operator SIGKILLed at each step of a rotation (one request, a kill after every step and between pods) finishes Successful', async () => {
    const t0 = Date.now();
    await rotate('kill-rotate');
    for (const after of ['ReconfigureTLS', 'DatabasePauseSucceeded', 'IssueCertificatesSucceeded', 'CertificateSynced', 'UpdatePetSets', 'ReloadPod--*', 'ReloadPods', 'UpdateDatabase']) {
      await killOperatorAfter('kill-rotate', after, ROTATE_STEPS);
    }
    await invariants(['kill-rotate']);
    timings['kill-each-rotate-step'] = Date.now() - t0;
  });

  // A CA change adds TrustBothCAs (TrustBundleUpdated) and DropOldCA.
  const CA_STEPS = ['ReconfigureTLS', 'DatabasePauseSucceeded', 'CertificateSynced', 'TrustBundleUpdated', 'UpdatePetSets', 'ReloadPods', 'DropOldCA', 'UpdateDatabase', 'Successful'];

  it('operator SIGKILLed at each step of a CA change (TrustBothCAs, DropOldCA and the rest) finishes Successful, serving the new CA', async () => {
    const t0 = Date.now();
    await rotate('kill-ca', { issuerRef: { name: 'fm-new-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    for (const after of ['DatabasePauseSucceeded', 'CertificateSynced', 'TrustBundleUpdated', 'ReloadPods', 'DropOldCA']) {
      await killOperatorAfter('kill-ca', after, CA_STEPS);
    }
    await invariants(['kill-ca']);
    assert.equal((await secretText(c, NS, `${DB}-server-cert`, 'ca.crt')).trim(), cas['fm-new-issuer']!.trim());
    timings['kill-each-ca-step'] = Date.now() - t0;
  });

  it('the API server SIGKILLed mid-request (during the reloads) and started again: the request finishes', async () => {
    const t0 = Date.now();
    await rotate('apiserver-restart');
    await waitCondition('apiserver-restart', 'UpdatePetSets');
    await killComponent('kube-apiserver', 'SIGKILL');
    const downAt = Date.now();
    await sleep(3_000);
    timings['apiserver-up'] = await bringUp();
    log(`API server down ${Date.now() - downAt} ms in all`);
    await invariants(['apiserver-restart']);
    timings['apiserver-restart'] = Date.now() - t0;
  });

  it('cert-manager stopped before CertificateSynced: the request waits, then completes when cert-manager returns', async () => {
    const t0 = Date.now();
    await withCertManagerStopped(async () => {
      await rotate('cm-stopped');
      await waitCondition('cm-stopped', 'IssueCertificatesSucceeded');
      // Nothing can issue: the request stays in SyncCertificates, the database keeps serving.
      await sleep(10_000);
      const op = await getOp('cm-stopped');
      assert.equal(op?.status?.phase, 'Progressing');
      assert.ok(!hasTrue(op?.status?.conditions ?? [], 'CertificateSynced'), JSON.stringify(op?.status));
      await assertServedVerified();
    });
    await invariants(['cm-stopped']);
    timings['cert-manager-stopped'] = Date.now() - t0;
  });

  it('a database pod deleted during ReloadPods: the request still ends Successful (or rolled back) and the pod comes back serving', async () => {
    const t0 = Date.now();
    await rotate('pod-deleted');
    await waitCondition('pod-deleted', 'UpdatePetSets');
    await c.kubectlOk(['-n', NS, 'delete', 'pod', `${DB}-1`, '--wait=false']);
    await invariants(['pod-deleted']);
    timings['pod-deleted'] = Date.now() - t0;
  });

  it('a Secret edited by hand with a key that does not match: refused at staging, old material kept, an Event explains', async () => {
    const t0 = Date.now();
    // cert-manager would repair the Secret at once; stopped, the bad key stays for the operator to see.
    await withCertManagerStopped(async () => {
      const stagedBefore = await secretText(c, NS, `${DB}-tls-certs`, 'server.key');
      const key = execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      await c.kubectlOk(['-n', NS, 'patch', 'secret', `${DB}-server-cert`, '--type=merge', '-p', JSON.stringify({ data: { 'tls.key': Buffer.from(key).toString('base64') } })]);
      const event = await eventually('a Warning Event on the database about the refused key', async () => {
        const out = await c.kubectlOk(['-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${DB},type=Warning`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
        return out.split('\n').find((l) => /tls\.key does not belong to tls\.crt/.test(l));
      }, 90_000, 1000);
      log(`event: ${event}`);
      assert.match(event, new RegExp(`${DB}-server-cert`));
      assert.equal(await secretText(c, NS, `${DB}-tls-certs`, 'server.key'), stagedBefore, 'the mismatched key reached the staged secret');
      // The pods still serve the old certificate, which still verifies.
      const crt = await secretText(c, NS, `${DB}-tls-certs`, 'server.crt');
      const want = new (await import('node:crypto')).X509Certificate(crt).fingerprint256;
      for (const pod of PODS) {
        const a = await localAddress(c.kube, { namespace: NS, pod, port: 5432 });
        const r = await probeTls({ host: a.host, port: a.port, serverName: `${pod}.${governingServiceName(DB)}.${NS}.svc` }, { timeoutMs: 3000, ca: await secretText(c, NS, `${DB}-tls-certs`, 'ca.crt') });
        assert.ok(r.kind === 'tls' && r.authorized && r.fingerprint256 === want, `${pod}: ${JSON.stringify(r)}`);
      }
    });
    // cert-manager back, a rotation re-issues a certificate for the Secret's key, which then stages.
    await rotate('after-bad-key');
    await invariants(['after-bad-key']);
    timings['bad-key'] = Date.now() - t0;
  });
});
