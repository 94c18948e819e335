// Issue 4: the Postgres provisioner's lifecycle on a real local cluster, with
// the operator as its own process (`pgtls operator`) so it can be SIGKILLed:
// convergence after a kill mid-provisioning, TLS with client-certificate
// auth through the Service, a standby replaced and catching up, and each
// deletionPolicy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statusCode } from '../../src/kube/client.ts';
import { k8s } from '../../src/kube/client-node.ts';
import { eventually, sleep } from '../helpers/exec.ts';
import { apply, caIssuer, certFiles, password, psql, psqlOk, setup, status, waitReady, type Env, type PsqlTarget } from './fixtures/provisioner/harness.ts';

const NS = 'demo';
const storage = { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };

const postgres = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'kubedb.com/v1',
  kind: 'Postgres',
  metadata: { name, namespace: NS },
  spec: { version: '15', replicas: 1, storageType: 'Durable', storage, deletionPolicy: 'WipeOut', ...spec },
});

// The guides' TLS Postgres (18.3, 3 replicas, TLS from the start) with client-certificate auth:
// the standbys clone and stream over TLS (verify-full) with the image's PostgreSQL 18 clients.
const haPostgres = postgres('pg-ha', {
  version: '18.3',
  replicas: 3,
  sslMode: 'verify-full',
  clientAuthMode: 'cert',
  tls: { issuerRef: { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } },
});

const POLICIES = { 'dp-halt': 'Halt', 'dp-delete': 'Delete', 'dp-wipe': 'WipeOut', 'dp-dnt': 'DoNotTerminate' } as const;

describe('provisioner: Postgres lifecycle', { timeout: 20 * 60_000 }, () => {
  let env: Env;
  let client: { ca: string; crt: string; key: string };
  const core = () => env.c.kube.api(k8s.CoreV1Api);
  const ha = (extra: Partial<PsqlTarget> = {}): PsqlTarget => ({ namespace: NS, service: 'pg-ha', port: 5432, user: 'postgres', sslmode: 'verify-full', ca: client.ca, cert: client, ...extra });
  const exists = async (read: () => Promise<unknown>) => {
    try {
      await read();
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  };
  const dbExists = (name: string) => exists(() => env.c.kube.api(k8s.CustomObjectsApi).getNamespacedCustomObject({ group: 'kubedb.com', version: 'v1', namespace: NS, plural: 'postgreses', name }));
  const pvcExists = (name: string) => exists(() => core().readNamespacedPersistentVolumeClaim({ name, namespace: NS }));
  const secretExists = (name: string) => exists(() => core().readNamespacedSecret({ name, namespace: NS }));

  before(async () => {
    // Every pod the operator makes here must pass Pod Security `restricted`.
    env = await setup(NS, { operator: 'process', restricted: true });
    await caIssuer(env, NS, 'pg-issuer');
  });

  after(async () => {
    await env?.destroy();
  });

  it('the operator SIGKILLed during provisioning and started again converges (kubectl get pg: Ready)', async () => {
    await apply(env, haPostgres);
    await apply(env, postgres('pg-plain'));
    for (const [name, policy] of Object.entries(POLICIES)) await apply(env, postgres(name, { deletionPolicy: policy }));
    // Kill it once it has started creating pods, before pg-ha is ready.
    // The StatefulSet comes after cert-manager has issued pg-ha's certificates (the pods start with TLS),
    // so this wait holds operator start, admission and issuance: on a loaded machine well over a minute.
    await eventually('pod pg-ha-0', async () => exists(() => core().readNamespacedPod({ name: 'pg-ha-0', namespace: NS })), 240_000, 200).catch(async (err) => {
      // Say where it stopped: no Certificate Ready, no StatefulSet, or pods refused (FailedCreate).
      const seen = await env.c.kubectl(['get', 'certificates,statefulsets,pods,events', '-n', NS, '-o', 'wide']);
      throw new Error(`${(err as Error).message}\n${seen.stdout}${seen.stderr}`);
    });
    assert.notEqual(await status(env, 'pg', NS, 'pg-ha'), 'Ready');
    await env.killOperator();
    await sleep(3000);
    await env.startOperator();
    for (const name of ['pg-ha', 'pg-plain', ...Object.keys(POLICIES)]) await waitReady(env, 'pg', NS, name, 240_000);
    client = await certFiles(env, NS, 'pg-ha-client-cert');
  });

  it('psql through the Services: password without TLS; verify-full with the client certificate (CN=postgres) when clientAuthMode is cert', async () => {
    const pw = await password(env, NS, 'pg-plain-auth');
    assert.equal(await psqlOk(env, { namespace: NS, service: 'pg-plain', port: 5432, user: 'postgres', password: pw, sslmode: 'disable' }, 'SELECT 1'), '1');
    assert.equal(await psqlOk(env, ha(), 'SELECT current_user || $$|$$ || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'), 'postgres|true');
    const haPw = await password(env, NS, 'pg-ha-auth');
    const noCert = await psql(env, ha({ cert: undefined, password: haPw }), 'SELECT 1');
    assert.notEqual(noCert.code, 0, 'cert auth: a password alone must not get in');
    const plain = await psql(env, ha({ cert: undefined, password: haPw, sslmode: 'disable' }), 'SELECT 1');
    assert.notEqual(plain.code, 0, 'plain text must be refused');
  });

  it("pods: the image's user, KubeDB's labels with kubedb.com/role, kubectl exec without \"Defaulted container\"", async () => {
    const exec = await env.c.kubectl(['exec', '-n', NS, 'pg-ha-1', '--', 'id', '-u']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.equal(exec.stdout.trim(), '999');
    assert.doesNotMatch(exec.stderr, /Defaulted container/);
    for (const [pod, role] of [['pg-ha-0', 'primary'], ['pg-ha-1', 'standby'], ['pg-ha-2', 'standby']] as const) {
      const labels = await eventually(`${pod} labelled ${role}`, async () => {
        const l = (await core().readNamespacedPod({ name: pod, namespace: NS })).metadata?.labels ?? {};
        return l['kubedb.com/role'] === role ? l : undefined;
      }, 30_000, 500);
      assert.equal(labels['app.kubernetes.io/name'], 'postgreses.kubedb.com');
      assert.equal(labels['app.kubernetes.io/instance'], 'pg-ha');
      assert.equal(labels['app.kubernetes.io/managed-by'], 'kubedb.com');
    }
    const svc = await core().readNamespacedService({ name: 'pg-ha', namespace: NS });
    assert.equal(svc.metadata?.labels?.['app.kubernetes.io/instance'], 'pg-ha');
    assert.equal(svc.spec?.selector?.['kubedb.com/role'], 'primary');
  });

  it('a standby pod killed is replaced, catches up, and streams again', async () => {
    // Streaming over TLS: every walsender's connection is an SSL one.
    const streaming = () => psqlOk(env, ha(), "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.state = 'streaming' AND s.ssl");
    await eventually('2 streaming standbys', async () => (await streaming()) === '2', 60_000, 500);
    await psqlOk(env, ha(), 'CREATE TABLE t_rep (v text); INSERT INTO t_rep VALUES ($$before$$)');
    const old = await core().readNamespacedPod({ name: 'pg-ha-2', namespace: NS });
    await core().deleteNamespacedPod({ name: 'pg-ha-2', namespace: NS, gracePeriodSeconds: 0 });
    await psqlOk(env, ha(), 'INSERT INTO t_rep VALUES ($$while-away$$)');
    await eventually(
      'pg-ha-2 replaced and Ready',
      async () => {
        const p = await core().readNamespacedPod({ name: 'pg-ha-2', namespace: NS });
        return p.metadata?.uid !== old.metadata?.uid && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      },
      120_000,
      500,
    );
    await eventually('2 streaming standbys again', async () => (await streaming()) === '2', 60_000, 500);
    await psqlOk(env, ha(), 'INSERT INTO t_rep VALUES ($$after$$)');
    // Read on the new standby itself (its pod IP; the certificate covers its pod DNS name).
    const onStandby = ha({ pod: 'pg-ha-2', host: 'pg-ha-2.pg-ha-pods.demo.svc' });
    const rows = await eventually('rows on the new standby', async () => {
      const r = await psqlOk(env, onStandby, 'SELECT string_agg(v, $$,$$ ORDER BY v) FROM t_rep');
      return r === 'after,before,while-away' ? r : undefined;
    }, 30_000, 500);
    assert.equal(rows, 'after,before,while-away');
    assert.equal(await psqlOk(env, onStandby, 'SELECT pg_is_in_recovery()'), 't');
    // The status follows the pods' readiness at the operator's next health check.
    await waitReady(env, 'pg', NS, 'pg-ha', 60_000);
  });

  it('deletionPolicy: Halt keeps PVCs and secrets, Delete keeps secrets, WipeOut removes all, DoNotTerminate keeps the object', async () => {
    for (const name of Object.keys(POLICIES)) await env.c.kubectlOk(['delete', 'pg', name, '-n', NS, '--wait=false']);
    for (const name of ['dp-halt', 'dp-delete', 'dp-wipe']) await eventually(`${name} deleted`, async () => !(await dbExists(name)), 60_000, 500);
    // Halt: the workload goes, the data and the credentials stay.
    await eventually('dp-halt pod gone', async () => !(await exists(() => core().readNamespacedPod({ name: 'dp-halt-0', namespace: NS }))), 60_000, 500);
    assert.equal(await pvcExists('data-dp-halt-0'), true);
    assert.equal(await secretExists('dp-halt-auth'), true);
    // Delete: the data goes, the credentials stay.
    await eventually('dp-delete PVC gone', async () => !(await pvcExists('data-dp-delete-0')), 60_000, 500);
    assert.equal(await secretExists('dp-delete-auth'), true);
    // WipeOut: everything.
    await eventually('dp-wipe PVC gone', async () => !(await pvcExists('data-dp-wipe-0')), 60_000, 500);
    await eventually('dp-wipe secrets gone', async () => !(await secretExists('dp-wipe-auth')) && !(await secretExists('dp-wipe-config')), 60_000, 500);
    // DoNotTerminate: refusing is the webhook's job; without it the finalizer keeps object, pods and data.
    assert.equal(await dbExists('dp-dnt'), true);
    const dnt = JSON.parse(await env.c.kubectlOk(['get', 'pg', 'dp-dnt', '-n', NS, '-o', 'json'])) as { metadata: { deletionTimestamp?: string; finalizers?: string[] } };
    assert.ok(dnt.metadata.deletionTimestamp);
    assert.deepEqual(dnt.metadata.finalizers, ['kubedb.com']);
    assert.equal(await pvcExists('data-dp-dnt-0'), true);
    assert.equal(await exists(() => core().readNamespacedPod({ name: 'dp-dnt-0', namespace: NS })), true);
    // Changing the policy lets the deletion finish.
    await env.c.kubectlOk(['patch', 'pg', 'dp-dnt', '-n', NS, '--type=merge', '-p', '{"spec":{"deletionPolicy":"Delete"}}']);
    await eventually('dp-dnt deleted', async () => !(await dbExists('dp-dnt')), 60_000, 500);
  });

  // Issue 11 item 6: on a ClusterIssuer anyone may ask for a CN=postgres certificate with this
  // database's marker in its subject; its client certificates come from a CA of its own instead.
  it('Postgres on a ClusterIssuer (2 replicas, cert auth): its own client CA; the standby clones and streams; a marker-bearing CN=postgres certificate from the ClusterIssuer is refused', async () => {
    await caIssuer(env, 'cert-manager', 'platform-ca', '/CN=platform-ca/O=platform', 'ClusterIssuer');
    const clusterIssuer = { name: 'platform-ca', kind: 'ClusterIssuer', apiGroup: 'cert-manager.io' };
    await apply(env, postgres('pg-shared', { replicas: 2, sslMode: 'verify-full', clientAuthMode: 'cert', tls: { issuerRef: clusterIssuer } }));
    // What a tenant who may use the ClusterIssuer can ask for without pgtls: the marker is only a subject value.
    await apply(env, { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'forged', namespace: NS }, spec: { secretName: 'forged', commonName: 'postgres', subject: { organizationalUnits: ['pgtls:demo/pg-shared'] }, usages: ['digital signature', 'key encipherment', 'client auth'], issuerRef: { name: 'platform-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' } } });
    await waitReady(env, 'pg', NS, 'pg-shared', 240_000);
    const own = await certFiles(env, NS, 'pg-shared-client-cert');
    const server = await certFiles(env, NS, 'pg-shared-server-cert');
    const t: PsqlTarget = { namespace: NS, service: 'pg-shared', port: 5432, user: 'postgres', sslmode: 'verify-full', ca: server.ca, cert: own };
    assert.equal(await psqlOk(env, t, 'SELECT current_user'), 'postgres');
    // The standby cloned over verify-full (the primary checked against the server's CA) and streams.
    assert.equal(await eventually('the standby streams', async () => (await psqlOk(env, t, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) === '1' || undefined, 120_000, 1000), true);
    await eventually('Secret forged', async () => (await env.c.kubectl(['get', 'secret', 'forged', '-n', NS])).code === 0 || undefined, 60_000, 1000);
    const forged = await certFiles(env, NS, 'forged');
    const refused = await psql(env, { ...t, cert: forged }, 'SELECT current_user');
    assert.notEqual(refused.code, 0, 'a certificate the ClusterIssuer signed outside pgtls must not log in, marker or not');
    assert.match(refused.stderr, /unknown ca|certificate verify failed/);
  });
});
