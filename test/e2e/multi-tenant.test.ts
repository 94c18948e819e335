// Issue 11 on a real cluster, with the operator as `pgtls up` runs it (its
// narrow ClusterRole, its admission webhook): what a tenant with rights in one
// namespace can and cannot do to another.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { operatorPorts } from '../../src/local/controlplane/components/operator.ts';
import { pkiFiles } from '../../src/local/controlplane/pki.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { run, type RunResult } from '../helpers/exec.ts';
import { tmpDir } from '../helpers/tls.ts';

const storage = { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };

describe('multi-tenant safety (issue 11)', { timeout: 20 * 60_000 }, () => {
  let c: TestCluster;
  let dir: string;
  const applyOk = (obj: unknown) => c.kubectlOk(['apply', '-f', '-'], JSON.stringify(obj));

  before(async () => {
    // Operator as a host process: also calls the webhook port a host process serves.
    c = await startTestCluster({ operator: true });
    dir = tmpDir('pgtls-tenant-');
  });
  after(async () => {
    await c?.destroy();
  });

  /** A kubeconfig that authenticates as the ServiceAccount (a bound token), not as the admin. */
  async function serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    await c.kubectlOk(['-n', namespace, 'create', 'serviceaccount', name]);
    const token = (await c.kubectlOk(['-n', namespace, 'create', 'token', name, '--duration=1h'])).trim();
    const admin = readFileSync(c.layout.kubeconfig, 'utf8');
    const server = /server: (\S+)/.exec(admin)![1]!;
    const caFile = /certificate-authority: (\S+)/.exec(admin)?.[1];
    const caData = /certificate-authority-data: (\S+)/.exec(admin)?.[1];
    const file = join(dir, `${namespace}-${name}.kubeconfig`);
    writeFileSync(file, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
      clusters: [{ name: 'c', cluster: { server, ...(caFile ? { 'certificate-authority': caFile } : { 'certificate-authority-data': caData }) } }],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa', namespace } }],
    }), { mode: 0o600 });
    return file;
  }

  describe('item 1: a pooler reads no Postgres of another namespace without its opt-in and the user\'s rights', () => {
    let dev: (args: string[], input?: string) => Promise<RunResult>;
    const pgbouncer = {
      apiVersion: 'kubedb.com/v1', kind: 'PgBouncer', metadata: { name: 'pb', namespace: 'team-a' },
      spec: { version: '1.18.0', replicas: 1, database: { syncUsers: true, databaseName: 'postgres', databaseRef: { namespace: 'team-b', name: 'prod' } }, deletionPolicy: 'WipeOut' },
    };
    const create = () => dev(['create', '--dry-run=server', '-o', 'name', '-f', '-'], JSON.stringify(pgbouncer));

    before(async () => {
      for (const ns of ['team-a', 'team-b']) await c.createNamespace(ns);
      const kubeconfig = await serviceAccountKubeconfig('team-a', 'dev');
      dev = (args, input) => run('kubectl', ['--kubeconfig', kubeconfig, ...args], { input, env: { ...process.env, KUBECONFIG: kubeconfig } });
      // dev may do anything with poolers in team-a, nothing elsewhere.
      await c.kubectlOk(['-n', 'team-a', 'create', 'role', 'poolers', '--verb=*', '--resource=pgbouncers.kubedb.com,pgpools.kubedb.com']);
      await c.kubectlOk(['-n', 'team-a', 'create', 'rolebinding', 'dev-poolers', '--role=poolers', '--serviceaccount=team-a:dev']);
      // team-b's production database, halted so that no pod runs for it.
      await applyOk({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'prod', namespace: 'team-b' }, spec: { version: '15', halted: true, storageType: 'Durable', storage } });
    });

    it('a ServiceAccount with rights only in team-a is refused, and learns nothing about team-b', async () => {
      const r = await create();
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /The PgBouncer "pb" is invalid: spec\.database\.databaseRef\.namespace: Forbidden: user "system:serviceaccount:team-a:dev" may not get postgreses\.kubedb\.com "prod" in namespace "team-b"/);
      const absent = await dev(['create', '--dry-run=server', '-f', '-'], JSON.stringify({ ...pgbouncer, spec: { ...pgbouncer.spec, database: { ...pgbouncer.spec.database, databaseRef: { namespace: 'team-b', name: 'nope' } } } }));
      assert.match(absent.stderr, /Forbidden: user "system:serviceaccount:team-a:dev" may not get postgreses\.kubedb\.com "nope"/, 'the same answer whether it exists or not');
    });

    it('with read access to the Postgres but not to its credentials: refused', async () => {
      await c.kubectlOk(['-n', 'team-b', 'create', 'role', 'read-pg', '--verb=get', '--resource=postgreses.kubedb.com']);
      await c.kubectlOk(['-n', 'team-b', 'create', 'rolebinding', 'dev-read-pg', '--role=read-pg', '--serviceaccount=team-a:dev']);
      const r = await create();
      assert.match(r.stderr, /spec\.database\.databaseRef\.namespace: Forbidden: user "system:serviceaccount:team-a:dev" may not get secret "prod-auth" in namespace "team-b"/);
    });

    it('with read access to both but no opt-in by team-b: refused', async () => {
      await c.kubectlOk(['-n', 'team-b', 'create', 'role', 'read-auth', '--verb=get', '--resource=secrets', '--resource-name=prod-auth']);
      await c.kubectlOk(['-n', 'team-b', 'create', 'rolebinding', 'dev-read-auth', '--role=read-auth', '--serviceaccount=team-a:dev']);
      const r = await create();
      assert.match(r.stderr, /Forbidden: Postgres team-b\/prod does not accept poolers from namespace "team-a": its owner opts in with the annotation pgtls\.dev\/allowed-pooler-namespaces: "team-a" on it/);
    });

    it('with the rights and team-b\'s opt-in: accepted', async () => {
      await c.kubectlOk(['-n', 'team-b', 'annotate', 'postgres', 'prod', 'pgtls.dev/allowed-pooler-namespaces=team-a']);
      const r = await create();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'pgbouncer.kubedb.com/pb');
    });
  });
  describe('item 3: the webhook answers only the API server', () => {
    const review = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: { uid: 'forged', kind: { group: 'ops.kubedb.com', version: 'v1alpha1', kind: 'PostgresOpsRequest' }, operation: 'UPDATE', subResource: 'status', name: 'x', namespace: 'team-b', object: { status: { phase: 'Successful' } }, oldObject: { status: { phase: 'Progressing' } } },
    });
    /** POSTs a review straight to the operator's webhook port (what any local process could do). */
    function post(client?: { cert: Buffer; key: Buffer }): Promise<number> {
      const { webhook } = operatorPorts({ ports: { apiserver: c.portBase } } as never);
      return new Promise((resolve, reject) => {
        const req = request(`https://127.0.0.1:${webhook}/validate/postgresopsrequests`, { method: 'POST', rejectUnauthorized: false, ...client, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(review);
      });
    }

    it('a review without the API server\'s client certificate is refused (403), even with another cluster certificate', async () => {
      assert.equal(await post(), 403);
      const pki = pkiFiles(c.layout.pki);
      assert.equal(await post({ cert: readFileSync(pki.cert('admin')), key: readFileSync(pki.key('admin')) }), 403, 'the admin\'s certificate is not the API server\'s');
      assert.equal(await post({ cert: readFileSync(pki.cert('apiserver-webhook-client')), key: readFileSync(pki.key('apiserver-webhook-client')) }), 200, 'the API server\'s is answered');
    });

    it('the API server still reaches the webhook (defaults are applied on a dry run)', async () => {
      const r = await c.kubectlOk(['-n', 'team-a', 'create', '--dry-run=server', '-o', 'jsonpath={.spec.sslMode}', '-f', '-'], JSON.stringify({ apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'd', namespace: 'team-a' }, spec: { version: '15', storageType: 'Ephemeral' } }));
      assert.equal(r, 'disable');
    });
  });
});
