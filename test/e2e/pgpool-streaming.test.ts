// Issue 15: Pgpool in KubeDB's streaming-replication mode on the local
// cluster, in front of a Postgres primary and its standby. Reads reach the
// standby through Pgpool without TLS and with it, and keep doing so through
// every ReconfigureTLS flow of the backend and of the Pgpool; the Pgpool
// guide's pgpool.conf lines are present and true (SHOW pool_nodes), and
// `kubectl describe` of a Pgpool ops request shows KubeDB's conditions and Events.
//
// Each check runs in a database of its own: Pgpool's children cache backend
// connections per user and database, so a fresh database shows the backend
// link as it is now (a cached one could predate the TLS change).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/exec.ts';
import { createCaIssuers, fixture, postgresManifest, secretFiles, secretText, waitOps } from '../helpers/ops.ts';
import { readFileSync } from 'node:fs';
import { localAddress } from '../../src/local/node/resolve.ts';
import { k8s } from '../../src/kube/client-node.ts';

const NS = 'demo';
const PRIMARY = 'ha-postgres-0';
const STANDBY = 'ha-postgres-1';
const SESSIONS = 40;

interface Reads {
  /** Sessions per backend pod. */
  byPod: Record<string, number>;
  /** Whether Pgpool's link to the standby, for the sessions that read there, was TLS. */
  standbyLinkTls: boolean[];
  /** The same for the primary. */
  primaryLinkTls: boolean[];
  clientTls: boolean;
}

describe('Pgpool streaming replication: reads reach the standby through every ReconfigureTLS flow', { timeout: 40 * 60_000 }, () => {
  let c: TestCluster;
  let password: string;
  const state = { backendTls: false, pgpoolTls: false };
  const timings: Record<string, number> = {};
  const seen: Record<string, Reads> = {};
  let checks = 0;

  const phase = async (res: string, name: string) => (await c.kubectlOk(['-n', NS, 'get', res, name, '-o', 'jsonpath={.status.phase}'])).trim();
  const podIps = async () => {
    const pods = await c.kube.api(k8s.CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/instance=ha-postgres' });
    return Object.fromEntries(pods.items.map((p) => [p.status!.podIP!, p.metadata!.name!]));
  };

  /** A direct connection to a backend pod (test set-up and inspection, not through Pgpool). */
  const direct = async (pod: string, database = 'postgres') => {
    const a = await localAddress(c.kube, { namespace: NS, pod, port: 5432 });
    const cl = new pg.Client({ host: a.host, port: a.port, user: 'postgres', password, database, ssl: state.backendTls ? { rejectUnauthorized: false } : false, connectionTimeoutMillis: 5000 });
    cl.on('error', () => undefined);
    await cl.connect();
    return cl;
  };

  /** A session through the Pgpool Service: verify-full with the client certificate when Pgpool has TLS. */
  const viaPgpool = async (database: string) => {
    const a = await localAddress(c.kube, { namespace: NS, service: 'pgpool', port: 9999 });
    let ssl: pg.ClientConfig['ssl'] = false;
    if (state.pgpoolTls) {
      const f = await secretFiles(c, NS, 'pgpool-client-cert');
      ssl = { ca: readFileSync(f['ca.crt']!, 'utf8'), cert: readFileSync(f['tls.crt']!, 'utf8'), key: readFileSync(f['tls.key']!, 'utf8'), servername: `pgpool.${NS}.svc` };
    }
    const cl = new pg.Client({ host: a.host, port: a.port, user: 'postgres', password, database, ssl, connectionTimeoutMillis: 5000 });
    cl.on('error', () => undefined);
    await cl.connect();
    return cl;
  };

  /** Writes a table in a fresh database on the primary, waits for it on the standby, then reads through Pgpool, one session at a time. */
  const reads = async (label: string): Promise<Reads> => {
    const db = `lb_${++checks}`;
    const p = await direct(PRIMARY);
    try {
      await p.query(`CREATE DATABASE ${db}`);
    } finally {
      await p.end();
    }
    const pd = await direct(PRIMARY, db);
    try {
      await pd.query('CREATE TABLE lb_probe (x int); INSERT INTO lb_probe VALUES (1)');
    } finally {
      await pd.end();
    }
    await eventually(`${db}.lb_probe streamed to the standby`, async () => {
      const s = await direct(STANDBY, db).catch(() => undefined);
      if (!s) return undefined;
      try {
        return Number((await s.query<{ n: string }>('SELECT count(*) AS n FROM lb_probe')).rows[0]!.n) === 1 || undefined;
      } catch {
        return undefined;
      } finally {
        await s.end();
      }
    }, 60_000, 500);
    const ips = await podIps();
    const r: Reads = { byPod: {}, standbyLinkTls: [], primaryLinkTls: [], clientTls: false };
    for (let i = 0; i < SESSIONS && (r.byPod[STANDBY] ?? 0) < 3; i++) {
      const s = await eventually(`a session through Pgpool (${label})`, async () => viaPgpool(db), 60_000, 500);
      try {
        // A user table and stable functions only: Pgpool balances the read (system catalogs and volatile functions go to the primary).
        const row = (await s.query<{ addr: string; pid: number }>('SELECT host(inet_server_addr()) AS addr, pg_backend_pid() AS pid FROM lb_probe LIMIT 1')).rows[0]!;
        const pod = ips[row.addr] ?? row.addr;
        r.byPod[pod] = (r.byPod[pod] ?? 0) + 1;
        r.clientTls = (s as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream.encrypted === true;
        if (pod === STANDBY || pod === PRIMARY) {
          // While the session holds it: how Pgpool's connection to that backend is carried.
          const st = await direct(pod, db);
          try {
            const ssl = (await st.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = $1', [row.pid])).rows[0]?.ssl === true;
            (pod === STANDBY ? r.standbyLinkTls : r.primaryLinkTls).push(ssl);
          } finally {
            await st.end();
          }
        }
      } finally {
        await s.end();
      }
    }
    seen[label] = r;
    return r;
  };

  /** Reads reach the standby over the links the current TLS state calls for; SHOW pool_nodes counts them there. */
  const readsReachStandby = async (label: string) => {
    const r = await reads(label);
    assert.ok((r.byPod[STANDBY] ?? 0) > 0, `${label}: no read reached the standby in ${SESSIONS} sessions: ${JSON.stringify(r.byPod)}`);
    assert.equal(r.clientTls, state.pgpoolTls, `${label}: client link TLS`);
    assert.deepEqual([...new Set(r.standbyLinkTls)], [state.backendTls], `${label}: Pgpool's link to the standby TLS = ${state.backendTls}`);
    // Both backend links: the sessions that read on the primary show its link.
    for (const tls of r.primaryLinkTls) assert.equal(tls, state.backendTls, `${label}: Pgpool's link to the primary TLS = ${state.backendTls}`);
    const s = await viaPgpool('postgres');
    try {
      const nodes = (await s.query<{ node_id: string; hostname: string; role: string; status: string; select_cnt: string }>('SHOW pool_nodes')).rows;
      assert.deepEqual(nodes.map((n) => [n.node_id, n.hostname, n.role, n.status]), [
        ['0', `ha-postgres.${NS}.svc`, 'primary', 'up'],
        ['1', `ha-postgres-standby.${NS}.svc`, 'standby', 'up'],
      ], JSON.stringify(nodes));
      assert.ok(Number(nodes[1]!.select_cnt) > 0, `${label}: select_cnt of the standby node: ${JSON.stringify(nodes)}`);
    } finally {
      await s.end();
    }
  };

  const ops = async (res: string, body: string, name: string) => {
    await c.kubectlOk(['apply', '-f', '-'], body);
    const st = await waitOps(c, res, NS, name, 300_000);
    timings[`${res}/${name}`] = st.ms;
    assert.equal(st.phase, 'Successful', JSON.stringify(st.conditions, null, 1));
    return st;
  };
  const backendOps = (name: string, tls: Record<string, unknown>) =>
    ops('pgops', JSON.stringify({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PostgresOpsRequest', metadata: { name, namespace: NS }, spec: { type: 'ReconfigureTLS', databaseRef: { name: 'ha-postgres' }, tls, timeout: '5m' } }), name);

  before(async () => {
    c = await startTestCluster();
    await c.createNamespace(NS);
    await createCaIssuers(c, NS, [
      ['pg-ca', 'pg-issuer', '/CN=postgres-ca/O=kubedb'],
      ['pg-new-ca', 'pg-new-issuer', '/CN=postgres-ca/O=kubedb-updated'],
      ['pgpool-ca', 'pgpool-issuer', '/CN=ca/O=kubedb'],
      ['pgpool-new-ca', 'pp-new-issuer', '/CN=ca-updated/O=kubedb-updated'],
    ]);
    // The guide's ha-postgres without TLS (Pgpool's admission requires that for a Pgpool without TLS): a primary and one standby.
    await c.kubectlOk(['apply', '-f', '-'], postgresManifest('ha-postgres', NS, { replicas: 2 }));
    await eventually('ha-postgres Ready', async () => (await phase('pg', 'ha-postgres')) === 'Ready', 300_000, 1000);
    password = await secretText(c, NS, 'ha-postgres-auth', 'password');
    await c.kubectlOk(['apply', '-f', '-'], fixture('pgpool-pgpool-catalog.yaml'));
    await eventually('pgpool Ready', async () => (await phase('pp', 'pgpool')) === 'Ready', 180_000, 1000);
  });
  after(async () => {
    process.stderr.write(`Pgpool streaming: ReconfigureTLS timings (ms) ${JSON.stringify(timings)}; sessions per backend ${JSON.stringify(Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v.byPod])))}\n`);
    await c?.destroy();
  });

  it("pgpool.conf has the guide's streaming-replication lines, and they are true: SHOW pool_nodes, reads on the standby without TLS", async () => {
    const conf = await c.kubectlOk(['-n', NS, 'exec', 'pgpool-0', '--', 'cat', '/opt/pgpool-II/etc/pgpool.conf']);
    for (const re of [
      /^backend_clustering_mode = 'streaming_replication'$/m,
      new RegExp(`^backend_hostname0 = 'ha-postgres\\.${NS}\\.svc'$`, 'm'),
      new RegExp(`^backend_hostname1 = 'ha-postgres-standby\\.${NS}\\.svc'$`, 'm'),
      /^load_balance_mode = on$/m,
      /^num_init_children = \d+$/m,
      /^max_pool = \d+$/m,
      /^sr_check_user = 'postgres'$/m,
      /^health_check_user = 'postgres'$/m,
    ]) assert.match(conf, re);
    assert.doesNotMatch(conf, new RegExp(password.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no password in pgpool.conf');
    await readsReachStandby('plain');
  });

  it('Pgpool add TLS (guide ppops-add-tls.yaml): reads on the standby over TLS to Pgpool; describe shows KubeDB\'s conditions and Events', async () => {
    const st = await ops('ppops', fixture('pgpool-add-tls.yaml'), 'ppops-add-tls');
    state.pgpoolTls = true;
    for (const t of ['ReconfigureTLS', 'DatabasePauseSucceeded', 'CertificateSynced', 'UpdatePetSets', 'RestartPods', 'GetPod--pgpool-0', 'EvictPod--pgpool-0', 'CheckPodRunning--pgpool-0', 'UpdateDatabase', 'Successful']) {
      assert.ok(st.conditions!.some((x) => x.type === t && x.status === 'True'), `condition ${t}`);
    }
    const describeOut = await c.kubectlOk(['-n', NS, 'describe', 'pgpoolopsrequest', 'ppops-add-tls']);
    for (const line of [
      'Successfully paused Pgpool database: demo/pgpool for PgpoolOpsRequest: ppops-add-tls',
      'Successfully resumed Pgpool database: demo/pgpool for PgpoolOpsRequest: ppops-add-tls',
      'Successfully Restarted Pgpool pods',
      'evict pod; ConditionStatus:True; PodName:pgpool-0',
    ]) assert.ok(describeOut.includes(line), `describe shows "${line}"`);
    await readsReachStandby('pgpool-add-tls');
  });

  it('backend add TLS: Pgpool follows, its link to the standby is TLS, reads still reach the standby', async () => {
    await backendOps('pg-add-tls', { sslMode: 'verify-full', clientAuthMode: 'md5', issuerRef: { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    state.backendTls = true;
    await readsReachStandby('backend-add-tls');
  });

  it('backend rotate: reads reach the standby over TLS', async () => {
    await backendOps('pg-rotate', { rotateCertificates: true });
    await readsReachStandby('backend-rotate');
  });

  it('backend change issuer: reads reach the standby over TLS (Pgpool trusts the new CA)', async () => {
    await backendOps('pg-change-issuer', { issuerRef: { name: 'pg-new-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } });
    await readsReachStandby('backend-change-issuer');
  });

  it('Pgpool rotate (guide ppops-rotate.yaml): reads reach the standby', async () => {
    await ops('ppops', fixture('pgpool-rotate.yaml'), 'ppops-rotate');
    await readsReachStandby('pgpool-rotate');
  });

  it('Pgpool change issuer (guide ppops-change-issuer.yaml): reads reach the standby', async () => {
    await ops('ppops', fixture('pgpool-change-issuer.yaml'), 'ppops-change-issuer');
    await readsReachStandby('pgpool-change-issuer');
  });

  it('backend remove TLS: Pgpool\'s link to the standby is plain again, reads reach it', async () => {
    await backendOps('pg-remove-tls', { remove: true });
    state.backendTls = false;
    await readsReachStandby('backend-remove-tls');
  });

  it('Pgpool remove TLS (guide ppops-remove.yaml): reads reach the standby without TLS', async () => {
    await ops('ppops', fixture('pgpool-remove.yaml'), 'ppops-remove');
    state.pgpoolTls = false;
    await readsReachStandby('pgpool-remove');
  });
});
