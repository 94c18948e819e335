// Issue 4 deliverable 5: `pgtls up` runs it all. The cluster comes up with the
// CRDs, the catalog and the operator (its own identity and ClusterRole, its
// cert-manager-issued webhook registered), a Postgres reaches Ready, a second
// replica stands by without reconciling, and down/up keeps the database Ready.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { k8s } from '../../src/kube/client-node.ts';
import { kubeconfigPath } from '../../src/local/controlplane/cluster.ts';
import { operatorPorts } from '../../src/local/controlplane/components/operator.ts';
import { repoRoot } from '../../src/util/repo.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, runOk } from '../helpers/exec.ts';
import { tmpDir } from '../helpers/tls.ts';

const NS = 'demo';
const SYS = 'pgtls-system';

type Readyz = { ok: boolean; leader: boolean; identity: string; webhook: { url: string; registered: boolean; verified: boolean } };

async function readyz(port: number, leader = false): Promise<{ code: number; body: Readyz }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz${leader ? '?leader=true' : ''}`);
  return { code: res.status, body: (await res.json()) as Readyz };
}

describe('pgtls up runs the operator', { timeout: 20 * 60_000 }, () => {
  let c: TestCluster;
  let second: ChildProcess | undefined;
  const apply = (obj: object) => c.kubectl(['apply', '-f', '-'], JSON.stringify(obj));
  const pgStatus = async (name: string) => (await c.kubectlOk(['-n', NS, 'get', 'pg', name, '-o', 'jsonpath={.status.phase}'])).trim();
  const lease = async () => (await c.kube.api(k8s.CoordinationV1Api).readNamespacedLease({ name: 'pgtls-operator', namespace: SYS })).spec!;
  const postgres = (name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'kubedb.com/v1',
    kind: 'Postgres',
    metadata: { name, namespace: NS },
    spec: { version: '15', replicas: 1, storageType: 'Durable', storage: { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }, deletionPolicy: 'WipeOut', ...extra },
  });

  before(async () => {
    const at = Date.now();
    // Operator as a host process: checks `pgtls up`'s operator process, its ports, status and a second process.
    c = await startTestCluster({ operator: true });
    process.stderr.write(`[operator-up] cluster with operator ready in ${((Date.now() - at) / 1000).toFixed(1)}s\n`);
    await c.createNamespace(NS);
  });
  after(async () => {
    if (second?.exitCode === null) second.kill('SIGTERM');
    await c?.destroy();
  });

  it('up installed the CRDs and the catalog, and the operator leads with its webhook registered', async () => {
    const crds = await c.kubectlOk(['get', 'crd', '-o', 'name']);
    for (const n of ['postgreses.kubedb.com', 'pgbouncers.kubedb.com', 'pgpools.kubedb.com', 'postgresopsrequests.ops.kubedb.com', 'postgresversions.catalog.kubedb.com']) {
      assert.match(crds, new RegExp(`customresourcedefinition.apiextensions.k8s.io/${n.replace(/\./g, '\\.')}\\n`));
    }
    assert.match(await c.kubectlOk(['get', 'postgresversions']), /\n15\s+15\.18\s+Official\s+localhost\/pgtls\/postgres:15\s/);
    const port = operatorPorts(c.handle.cfg).health;
    const r = await readyz(port, true);
    assert.equal(r.code, 200);
    assert.equal(r.body.leader, true);
    assert.equal(r.body.webhook.url, `https://127.0.0.1:${operatorPorts(c.handle.cfg).webhook}`);
    assert.equal((await lease()).holderIdentity, r.body.identity);
    const vwc = JSON.parse(await c.kubectlOk(['get', 'validatingwebhookconfiguration', 'pgtls-validators', '-o', 'json'])) as { webhooks: { clientConfig: { url: string; caBundle: string } }[] };
    assert.ok(vwc.webhooks.every((w) => w.clientConfig.url.startsWith(`${r.body.webhook.url}/validate/`)));
    // The caBundle is the cert-manager CA of the serving Secret.
    const secret = await c.kube.api(k8s.CoreV1Api).readNamespacedSecret({ name: 'pgtls-webhook-serving', namespace: SYS });
    assert.ok(Buffer.from(vwc.webhooks[0]!.clientConfig.caBundle, 'base64').toString().includes(Buffer.from(secret.data!['ca.crt']!, 'base64').toString().trim()));
    // The operator acts as its own user, bound to the narrow ClusterRole (not cluster-admin).
    const opKube = kubeconfigPath(c.layout, 'operator');
    // Least privilege (docs/security.md): the API server's own answers for the operator's user.
    const canI = async (...args: string[]) => (await c.kubectl(['--kubeconfig', opKube, 'auth', 'can-i', ...args])).stdout.trim();
    const expect: [string[], 'yes' | 'no'][] = [
      [['patch', 'postgreses.kubedb.com', '-n', NS], 'yes'],
      [['get', 'secrets', '-n', NS], 'yes'],
      [['create', 'postgreses.kubedb.com', '-n', NS], 'no'],
      [['create', 'postgreses.kubedb.com/pgtls-webhook-probe', '-n', SYS], 'yes'],
      [['list', 'secrets', '-n', NS], 'yes'], // by label selector only (syncUsers, an ops request's own copy),
      [['watch', 'secrets', '--all-namespaces'], 'no'],
      [['patch', `namespaces/${NS}`], 'no'],
      [['create', 'namespaces'], 'no'],
      [['patch', 'leases/pgtls-operator', '-n', SYS], 'yes'],
      [['patch', 'leases/kube-controller-manager', '-n', 'kube-system'], 'no'],
      [['patch', 'validatingwebhookconfigurations/pgtls-validators'], 'yes'],
      [['patch', 'validatingwebhookconfigurations/someone-elses'], 'no'],
      [['patch', 'customresourcedefinitions/certificates.cert-manager.io'], 'no'],
      // A database's own client CA lives in its namespace (issue 11 item 6); issuers are never deleted, ClusterIssuers only read.
      [['create', 'issuers.cert-manager.io', '-n', NS], 'yes'],
      [['delete', 'issuers.cert-manager.io', '-n', NS], 'no'],
      [['patch', 'clusterissuers.cert-manager.io'], 'no'],
      [['create', 'certificaterequests.cert-manager.io', '-n', NS], 'no'],
      [['create', 'poddisruptionbudgets', '-n', NS], 'no'],
      [['create', 'serviceaccounts', '-n', NS], 'no'],
      [['create', 'configmaps', '-n', NS], 'no'],
      [['delete', 'nodes'], 'no'],
    ];
    for (const [args, want] of expect) assert.equal(await canI(...args), want, `can-i ${args.join(' ')}`);
    const status = await runOk('node', ['--import', 'tsx', 'src/cli/main.ts', 'status'], { env: c.env });
    assert.match(status, /operator\s+running\s+pid \d+\n/);
  });

  it('the webhook refuses invalid objects: schema, catalog version, DoNotTerminate delete', async () => {
    const schema = await apply(postgres('bad-ssl', { sslMode: 'disabled' }));
    assert.notEqual(schema.code, 0);
    assert.match(schema.stderr, /spec\.sslMode: Unsupported value: "disabled": supported values: /);
    const version = await apply(postgres('bad-version', { version: '9.6' }));
    assert.notEqual(version.code, 0);
    assert.match(version.stderr, /The Postgres "bad-version" is invalid: spec\.version: Unsupported value: "9\.6": supported values: .*"15"/);
    const keep = postgres('keep', { storageType: 'Ephemeral', deletionPolicy: 'DoNotTerminate' });
    delete (keep.spec as Record<string, unknown>).storage;
    const created = await apply(keep);
    assert.equal(created.code, 0, created.stderr);
    const del = await c.kubectl(['-n', NS, 'delete', 'pg', 'keep', '--wait=false']);
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /deletionPolicy "DoNotTerminate" and cannot be deleted/);
    await c.kubectlOk(['-n', NS, 'patch', 'pg', 'keep', '--type=merge', '-p', '{"spec":{"deletionPolicy":"WipeOut"}}']);
    await c.kubectlOk(['-n', NS, 'delete', 'pg', 'keep', '--wait=false']);
  });

  it('a valid Postgres 15 with one replica reaches Ready, defaulted by the webhook', async () => {
    const at = Date.now();
    const r = await apply(postgres('pg'));
    assert.equal(r.code, 0, r.stderr);
    const pg = JSON.parse(await c.kubectlOk(['-n', NS, 'get', 'pg', 'pg', '-o', 'json'])) as { spec: { sslMode: string; authSecret: { name: string } } };
    assert.equal(pg.spec.sslMode, 'disable');
    assert.equal(pg.spec.authSecret.name, 'pg-auth');
    await eventually('pg Ready', async () => (await pgStatus('pg')) === 'Ready' || undefined, 240_000, 1000);
    process.stderr.write(`[operator-up] Postgres pg Ready in ${((Date.now() - at) / 1000).toFixed(1)}s\n`);
  });

  it('keeps working when its CA and its serving certificate renew (caBundle re-registered, files reloaded)', async () => {
    const health = operatorPorts(c.handle.cfg).health;
    const caBundle = async () =>
      (JSON.parse(await c.kubectlOk(['get', 'validatingwebhookconfiguration', 'pgtls-validators', '-o', 'json'])) as { webhooks: { clientConfig: { caBundle: string } }[] }).webhooks[0]!.clientConfig.caBundle;
    const secretCrt = async (name: string) => Buffer.from((await c.kube.api(k8s.CoreV1Api).readNamespacedSecret({ name, namespace: SYS })).data!['tls.crt']!, 'base64').toString().trim();
    const renew = async (name: string) => {
      const cert = JSON.parse(await c.kubectlOk(['-n', SYS, 'get', 'certificate', name, '-o', 'json'])) as { status: { conditions: object[] } };
      const issuing = { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'Certificate re-issuance manually triggered', lastTransitionTime: new Date().toISOString() };
      await c.kubectlOk(['-n', SYS, 'patch', 'certificate', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [...cert.status.conditions, issuing] } })]);
    };
    const b0 = await caBundle();
    const ca0 = await secretCrt('pgtls-webhook-ca');
    await renew('pgtls-webhook-ca');
    const ca1 = await eventually('the CA to be re-issued', async () => {
      const now = await secretCrt('pgtls-webhook-ca');
      return now !== ca0 ? now : undefined;
    }, 60_000, 500);
    await eventually('the caBundle to carry the new CA', async () => {
      const b = await caBundle();
      return (b !== b0 && Buffer.from(b, 'base64').toString().includes(ca1)) || undefined;
    }, 60_000, 500);
    const loads0 = (await readyz(health)).body.webhook as unknown as { certLoads: number };
    const leaf0 = await secretCrt('pgtls-webhook-serving');
    await renew('pgtls-webhook-serving');
    await eventually('the serving certificate to be re-issued', async () => (await secretCrt('pgtls-webhook-serving')) !== leaf0 || undefined, 60_000, 500);
    await eventually('the webhook to reload its files', async () => {
      const w = (await readyz(health)).body.webhook as unknown as { certLoads: number };
      return w.certLoads > loads0.certLoads || undefined;
    }, 60_000, 500);
    // The API server still trusts and calls it.
    const version = await apply(postgres('bad-version', { version: '9.6' }));
    assert.match(version.stderr, /spec\.version: Unsupported value: "9\.6"/);
  });

  it('a second replica stands by: one Lease holder, only the leader reconciles', async () => {
    const first = (await lease()).holderIdentity!;
    const logDir = tmpDir('pgtls-op2-');
    const logPath = join(logDir, 'operator.log');
    const fd = openSync(logPath, 'a');
    const base = c.portBase + 40;
    try {
      second = spawn(process.execPath, [
        join(repoRoot(), 'bin', 'pgtls.mjs'), 'operator', `--kubeconfig=${kubeconfigPath(c.layout, 'operator')}`,
        `--webhook-port=${base}`, `--health-port=${base + 1}`, `--identity=second`,
      ], { stdio: ['ignore', fd, fd], env: { ...process.env, PGTLS_LOG_LEVEL: 'debug' } });
    } finally {
      closeSync(fd);
    }
    // Ready as a webhook server, not the leader, so not registered.
    const r = await eventually('the second replica to serve', async () => {
      try {
        const got = await readyz(base + 1);
        return got.code === 200 ? got : undefined;
      } catch {
        return undefined;
      }
    }, 90_000, 500);
    assert.equal(r.body.leader, false);
    assert.equal(r.body.identity, 'second');
    assert.equal((await readyz(base + 1, true)).code, 503);
    // While it runs, a new database is reconciled by the leader only.
    assert.equal((await apply(postgres('pg2', { storageType: 'Ephemeral', storage: undefined }))).code, 0);
    await eventually('pg2 to get its StatefulSet', async () => (await c.kubectl(['-n', NS, 'get', 'sts', 'pg2'])).code === 0 || undefined, 60_000, 500);
    assert.equal((await lease()).holderIdentity, first);
    const log = readFileSync(logPath, 'utf8');
    assert.match(log, /waiting for leadership/);
    assert.doesNotMatch(log, /starting controllers|became leader/);
    second.kill('SIGTERM');
    await eventually('the second replica to exit', async () => second!.exitCode !== null || undefined, 30_000, 200);
    assert.equal(second.exitCode, 0);
    await c.kubectlOk(['-n', NS, 'delete', 'pg', 'pg2', '--wait=false']);
  });

  it('leader safety: a leader frozen mid-work (SIGSTOP) loses its term; the standby acts; the old one writes nothing more and exits', async () => {
    const pid = Number(/operator\s+running\s+pid (\d+)/.exec(await runOk('node', ['--import', 'tsx', 'src/cli/main.ts', 'status'], { env: c.env }))?.[1]);
    assert.ok(pid > 0, 'the operator pid from pgtls status');
    const oldLog = join(c.layout.logs, 'operator.log');
    const oldLogAt = readFileSync(oldLog, 'utf8').length;
    const logDir = tmpDir('pgtls-op3-');
    const logPath = join(logDir, 'operator.log');
    const fd = openSync(logPath, 'a');
    const base = c.portBase + 42;
    let standby: ChildProcess;
    try {
      standby = spawn(process.execPath, [
        join(repoRoot(), 'bin', 'pgtls.mjs'), 'operator', `--kubeconfig=${kubeconfigPath(c.layout, 'operator')}`,
        `--webhook-port=${base}`, `--health-port=${base + 1}`, '--identity=standby',
      ], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    second = standby;
    await eventually('the standby to serve', async () => (await readyz(base + 1).catch(() => undefined))?.code === 200 || undefined, 90_000, 500);
    // Work in flight for the leader, then freeze it.
    const applied = await apply(postgres('pg3', { storageType: 'Ephemeral', storage: undefined }));
    assert.equal(applied.code, 0, `kubectl apply pg3: ${applied.stdout}${applied.stderr}`);
    process.kill(pid, 'SIGSTOP');
    const frozenAt = Date.now();
    try {
      await eventually('the standby to take the lease', async () => (await lease()).holderIdentity === 'standby' || undefined, 60_000, 250);
      process.stderr.write(`[operator-up] standby leads ${((Date.now() - frozenAt) / 1000).toFixed(1)}s after the leader froze\n`);
      // The new leader acts: it reconciles pg3.
      await eventually('pg3 to get its StatefulSet from the new leader', async () => (await c.kubectl(['-n', NS, 'get', 'sts', 'pg3'])).code === 0 || undefined, 120_000, 500);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // The old leader finds its term over by its own clock: it stops before any write and exits.
    await eventually('the old leader to exit', async () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 60_000, 250);
    const after = readFileSync(oldLog, 'utf8').slice(oldLogAt);
    assert.match(after, /leadership term ended/);
    assert.match(after, /lost leadership; stopping controllers/);
    // Anything it tried after thawing was refused by the fence, never sent.
    for (const line of after.split('\n').filter((l) => /reason/.test(l) && /attempted after the lease expired/.test(l))) process.stderr.write(`[operator-up] fenced: ${line.slice(0, 200)}\n`);
    assert.equal((await lease()).holderIdentity, 'standby');
    // Best effort: after this test the API server's egress gateway has refused webhook calls
    // (not understood yet); the next test restarts the cluster, which registers the webhook again.
    const del = await c.kubectl(['-n', NS, 'delete', 'pg', 'pg3', '--wait=false']);
    if (del.code !== 0) process.stderr.write(`[operator-up] pg3 not deleted: ${del.stderr.trim().slice(0, 300)}\n`);
    standby.kill('SIGTERM');
    await eventually('the standby to exit', async () => standby.exitCode !== null || undefined, 30_000, 200);
  });

  it('down then up: the operator comes back, leads, and the database is Ready again', async () => {
    await c.stop();
    const at = Date.now();
    await c.restart();
    process.stderr.write(`[operator-up] restart to ready in ${((Date.now() - at) / 1000).toFixed(1)}s\n`);
    const r = await readyz(operatorPorts(c.handle.cfg).health, true);
    assert.equal(r.code, 200);
    assert.equal((await lease()).holderIdentity, r.body.identity);
    await eventually('pg Ready after restart', async () => (await pgStatus('pg')) === 'Ready' || undefined, 240_000, 1000);
    // And the webhook is the new process's: still refusing.
    const version = await apply(postgres('bad-version', { version: '9.6' }));
    assert.match(version.stderr, /spec\.version: Unsupported value: "9\.6"/);
  });
});
