// Issue 14: `kubectl pgtls` against a real local cluster. status shows the
// certificate each pod serves on the wire and whether it is its Secret's;
// tls rotate changes what is served and exits with the outcome; connect's psql
// line works; errors name the object; the port-forward path (for clusters that
// are not local) gives the same answers; `pgtls kubectl` is the server's version.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, run, type RunResult } from '../helpers/exec.ts';
import { makeCa, tmpDir, x509Field } from '../helpers/tls.ts';
import { secretFiles } from '../helpers/ops.ts';
import type { StatusModel } from '../../src/cli/plugin/status/model.ts';
import { pgtlsKubectlPath } from '../../src/cli/plugin/kubectl.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin');
const NS = 'demo';

const POSTGRES = (name: string, replicas: number, tls: boolean) => ({
  apiVersion: 'kubedb.com/v1',
  kind: 'Postgres',
  metadata: { name, namespace: NS },
  spec: {
    version: '15',
    replicas,
    storageType: 'Ephemeral',
    deletionPolicy: 'WipeOut',
    ...(tls ? { sslMode: 'verify-full', clientAuthMode: 'cert', tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'pg-issuer' } } } : {}),
  },
});

describe('kubectl pgtls (plugin) on the local cluster', { timeout: 20 * 60_000 }, () => {
  let c: TestCluster;
  let env: NodeJS.ProcessEnv;
  const plugin = (args: string[], timeoutMs = 180_000): Promise<RunResult> => run(join(BIN, 'kubectl-pgtls'), args, { env, timeoutMs });
  const status = async (target: string, extra: string[] = []): Promise<StatusModel> => {
    const r = await plugin(['status', target, '-n', NS, '-o', 'json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as StatusModel;
  };
  const secretSerial = async (secret: string) => (await x509Field((await secretFiles(c, NS, secret))['tls.crt']!, '-serial')).replace('serial=', '').toUpperCase();

  before(async () => {
    c = await startTestCluster();
    // The plugin as users run it: bin/ on PATH (kubectl finds kubectl-pgtls there), the cluster's kubeconfig.
    // TMPDIR: `connect` leaves its files for the printed line on purpose; here they go with the test's scratch dirs.
    env = { ...c.env, PATH: `${BIN}:${process.env.PATH}`, TMPDIR: tmpDir('pgtls-plugin-tmp-') };
    await c.createNamespace(NS);
    const ca = await makeCa(tmpDir(), '/CN=ca/O=kubedb');
    await c.kubectlOk(['-n', NS, 'create', 'secret', 'tls', 'postgres-ca', `--cert=${ca.crt}`, `--key=${ca.key}`]);
    const issuer = (name: string, secret: string) => ({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name, namespace: NS }, spec: { ca: { secretName: secret } } });
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [issuer('pg-issuer', 'postgres-ca'), issuer('broken-issuer', 'no-such-secret'), POSTGRES('pg', 2, true), POSTGRES('plain', 1, false)] }));
    for (const db of ['pg', 'plain']) {
      await eventually(`${db} Ready`, async () => (await c.kubectlOk(['-n', NS, 'get', 'pg', db, '-o', 'jsonpath={.status.phase}'])) === 'Ready', 300_000, 1000);
    }
  });
  after(async () => {
    await c?.destroy();
  });

  it('pgtls kubectl is the server\'s version: client and server v1.34.4, no skew warning', async () => {
    assert.ok(statSync(pgtlsKubectlPath()).isFile(), 'kubectl built by setup');
    // bin/pgtls execs it directly; bin/pgtls.mjs (npx pgtls) goes through the TypeScript CLI. Without
    // KUBECONFIG both use the local cluster's (PGTLS_HOME's) kubeconfig.
    for (const cli of ['pgtls', 'pgtls.mjs']) {
      const r = await run(join(BIN, cli), ['kubectl', 'version'], { env: { ...env, KUBECONFIG: '' }, timeoutMs: 180_000 });
      assert.equal(r.code, 0, `${cli}: ${r.stderr}`);
      assert.match(r.stdout, /^Client Version: v1\.34\.4$/m, cli);
      assert.match(r.stdout, /^Server Version: v1\.34\.4$/m, cli);
      assert.doesNotMatch(r.stdout + r.stderr, /WARNING|skew/i, cli);
    }
    // kubectl's exit code comes through.
    assert.equal((await run(join(BIN, 'pgtls'), ['kubectl', 'get', 'namespace', 'no-such-namespace'], { env })).code, 1);
  });

  it('status: each pod\'s certificate read from the wire, with serial, SANs, issuer, not-after, matching its Secret', async () => {
    // Through kubectl's own plugin dispatch, as a user types it.
    const r = await run(pgtlsKubectlPath(), ['pgtls', 'status', 'pg/pg', '-n', NS], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const serial = await secretSerial('pg-server-cert');
    assert.match(r.stdout, /^Postgres demo\/pg {3}version 15 {3}replicas 2 {3}phase Ready$/m);
    assert.match(r.stdout, /^TLS: sslMode verify-full, clientAuthMode cert, issuer Issuer\/pg-issuer$/m);
    assert.match(r.stdout, new RegExp(`^pg-0\\s+primary\\s+1/1\\s+Running\\s+0\\s+${serial}\\s+CN=ca, O=kubedb\\s+\\S+ \\S+\\s+yes$`, 'm'));
    assert.match(r.stdout, new RegExp(`^pg-1\\s+standby\\s+1/1\\s+Running\\s+0\\s+${serial}\\s+CN=ca, O=kubedb\\s+\\S+ \\S+\\s+yes$`, 'm'));
    assert.match(r.stdout, /^SANs served by all pods: .*DNS:pg\.demo\.svc,/m);
    assert.match(r.stdout, new RegExp(`^server\\s+pg-server-cert\\s+${serial}\\s+CN=ca, O=kubedb\\s+.*Ready\\s+2/2 pods$`, 'm'));

    const m = await status('pg/pg');
    const notAfter = (await x509Field((await secretFiles(c, NS, 'pg-server-cert'))['tls.crt']!, '-dates')).match(/notAfter=(.+)/)![1]!;
    for (const p of m.pods) {
      assert.equal(p.served.kind, 'tls');
      if (p.served.kind !== 'tls') continue;
      assert.equal(p.served.serial, serial);
      assert.equal(p.served.issuer, 'CN=ca\nO=kubedb');
      assert.ok(p.served.dnsNames.includes('pg.demo.svc'), p.served.dnsNames.join());
      assert.equal(new Date(p.served.notAfter).getTime(), new Date(notAfter).getTime());
      assert.equal(p.matchesSecret, true);
    }
    // A database without TLS: no certificate served, nothing to match.
    const pm = await status('pg/plain');
    assert.equal(pm.tls.enabled, false);
    assert.deepEqual(pm.pods.map((p) => [p.served.kind, p.matchesSecret]), [['no-ssl', null]]);
  });

  it('tls rotate: follows the request to Successful (exit 0); every pod then serves the new serial, the Secret\'s', async () => {
    const before = await secretSerial('pg-server-cert');
    const r = await plugin(['tls', 'rotate', 'pg/pg', '-n', NS]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^postgresopsrequest\.ops\.kubedb\.com\/pg-rotate-tls-[a-z0-9]{5} created$/m);
    assert.match(r.stdout, /^ {2}✓ ReloadPods\s+\S+$/m);
    assert.match(r.stdout, /^ {6}pg-0: reload pod in \d+ms, serves serial [0-9A-F]+$/m);
    assert.match(r.stdout, /: Successful in \S+$/m);
    const after = await secretSerial('pg-server-cert');
    assert.notEqual(after, before);
    const m = await status('pg/pg');
    for (const p of m.pods) {
      assert.equal(p.served.kind === 'tls' && p.served.serial, after, p.name);
      assert.equal(p.matchesSecret, true);
    }
  });

  it('connect: prints a psql line that works as printed (files 0600 in a 0700 dir); --run -c runs it', async () => {
    const r = await plugin(['connect', 'pg/pg', '-n', NS]);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.trim();
    assert.match(line, /^psql 'host=pg\.demo\.svc hostaddr=127\.\S+ port=5432 dbname=postgres user=postgres sslmode=verify-full sslrootcert=(\S+)\/ca\.crt sslcert=\S+\/client\.crt sslkey=\S+\/client\.key'$/);
    const dir = dirname(/sslrootcert=(\S+)/.exec(line)![1]!);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const f of ['ca.crt', 'client.crt', 'client.key']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    assert.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), readFileSync((await secretFiles(c, NS, 'pg-server-cert'))['ca.crt']!, 'utf8'));
    const printed = await run('sh', ['-c', `${line} -Atc 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'`], { env, timeoutMs: 60_000 });
    assert.equal(printed.stdout.trim(), 't', printed.stderr);

    const ran = await plugin(['connect', 'pg/pg', '-n', NS, '--run', '-c', 'select 1']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^\s+1$/m);
    // Password login (no TLS): the password travels in a passfile, never on the line.
    const plain = await plugin(['connect', 'pg/plain', '-n', NS]);
    assert.match(plain.stdout, /sslmode=disable passfile=\S+\/pgpass'$/m);
    const pw = Buffer.from(JSON.parse(await c.kubectlOk(['-n', NS, 'get', 'secret', 'plain-auth', '-o', 'json'])).data.password, 'base64').toString();
    assert.ok(!plain.stdout.includes(pw));
    const ranPlain = await plugin(['connect', 'pg/plain', '-n', NS, '--run', '-c', 'select current_user']);
    assert.equal(ranPlain.code, 0, ranPlain.stderr);
    assert.match(ranPlain.stdout, /postgres/);
    // A failing statement is psql's exit code.
    assert.notEqual((await plugin(['connect', 'pg/pg', '-n', NS, '--run', '-c', 'select nonsense'])).code, 0);
  });

  it('errors name the object and what is missing, with their exit codes', async () => {
    const cases: [string[], number, RegExp][] = [
      [['status', 'pg/nope', '-n', NS], 1, /^error: Postgres demo\/nope not found \(kubectl get pg -n demo\)$/m],
      [['status', 'nope'], 2, /^error: "nope" is not <kind>\/<name>; kinds: pg \(Postgres\), pb \(PgBouncer\), pp \(Pgpool\)$/m],
      [['tls', 'add', 'pg/pg', '-n', NS, '--issuer', 'pg-issuer'], 1, /^error: Postgres demo\/pg already has TLS \(issuer Issuer\/pg-issuer\); use tls rotate, tls change-issuer or tls remove$/m],
      [['tls', 'rotate', 'pg/plain', '-n', NS], 1, /has no TLS \(spec\.tls\.issuerRef is not set\); add it first: kubectl pgtls tls add pg\/plain --issuer <issuer>/],
      [['tls', 'change-issuer', 'pg/pg', '-n', NS, '--issuer', 'missing'], 1, /^error: Issuer demo\/missing not found \(kubectl get issuers -n demo\)$/m],
      [['status', 'pp/plain', '-n', NS], 1, /^error: Pgpool demo\/plain not found \(kubectl get pp -n demo\)$/m],
      [['tls', 'add', 'pg/plain', '-n', NS, '--issuer', 'pg-issuer', '--ssl-mode', 'verify'], 2, /^error: --ssl-mode verify: allowed values are allow, prefer, require, verify-ca, verify-full$/m],
      [['connect', 'pg/pg', '-n', NS, '-c', 'select 1'], 2, /-c\/--command needs --run/],
    ];
    for (const [args, code, re] of cases) {
      const r = await plugin(args);
      assert.match(r.stderr, re, args.join(' '));
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    }
  });

  it('exit codes of the outcome: 5 when the wait runs out (the request goes on; tls follow picks it up), 3 when it fails, 0 when it succeeds', async () => {
    // An Issuer whose CA Secret does not exist never issues: the CertificateSynced step runs until
    // spec.timeout (10 s), so a 1 s wait always runs out first, however fast the machine (a rotate can
    // finish within 1 s), exit 5.
    const r = await plugin(['tls', 'add', 'pg/plain', '-n', NS, '--issuer', 'broken-issuer', '--timeout', '10s', '--wait-timeout', '1s']);
    assert.equal(r.code, 5, r.stdout + r.stderr);
    const name = /postgresopsrequest\.ops\.kubedb\.com\/(\S+) created/.exec(r.stdout)![1]!;
    assert.match(r.stdout, new RegExp(`gave up following after 1s; PostgresOpsRequest demo/${name} is still \\S+ \\(it goes on; follow it again with: kubectl pgtls tls follow postgresopsrequest/${name} -n demo\\)`));
    // Followed again, it ends Failed past its timeout (the database keeps its last working state), exit 3.
    const failed = await plugin(['tls', 'follow', `pgops/${name}`, '-n', NS], 300_000);
    assert.equal(failed.code, 3, failed.stdout + failed.stderr);
    assert.match(failed.stdout, /^ {2}✗ Failed\s+\S+ {2}.*CertificateSynced/m);
    assert.match(failed.stdout, /: Failed after \S+: /);
    assert.equal((await status('pg/plain')).tls.enabled, false);

    // A request that ended Successful, followed: exit 0, its phase in JSON.
    const rotated = await plugin(['tls', 'rotate', 'pg/pg', '-n', NS], 300_000);
    assert.equal(rotated.code, 0, rotated.stdout + rotated.stderr);
    const done = /postgresopsrequest\.ops\.kubedb\.com\/(\S+) created/.exec(rotated.stdout)![1]!;
    const f = await plugin(['tls', 'follow', `pgops/${done}`, '-n', NS, '-o', 'json']);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(JSON.parse(f.stdout).phase, 'Successful');
  });

  it('the port-forward path (any cluster) reads the same certificates and connects', async () => {
    const m = await status('pg/pg', ['--via', 'port-forward']);
    assert.equal(m.via, 'port-forward');
    const serial = await secretSerial('pg-server-cert');
    // kubectl port-forward reaches the pod's localhost (as every kubelet does): the servers must listen there too.
    assert.deepEqual(m.pods.map((p) => [p.served.kind === 'tls' && p.served.serial, p.matchesSecret]), [[serial, true], [serial, true]], JSON.stringify(m.pods.map((p) => p.served)));
    const ran = await plugin(['connect', 'pg/pg', '-n', NS, '--via', 'port-forward', '--run', '-c', 'select 42']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^\s+42$/m);
  });
});
