// Pgpool-II 4.3 in KubeDB's streaming-replication mode in front of a real
// PostgreSQL 15 primary and its streaming standby (local processes): reads are
// balanced to the standby, writes go to the primary, both backend links speak
// TLS, and the health and replication checks log in as the check user whose
// password Pgpool finds in pool_passwd (no password in pgpool.conf).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PgInstance, pgAvailable } from './harness/postgres.ts';
import { PgpoolInstance, PGPOOL_BIN } from './harness/pgpool.ts';
import { testPki, type TestPki } from './harness/pki.ts';
import { parsePgpoolTunables } from '../../../src/engines/pgpool/index.ts';

const SUPER = { name: 'postgres', password: 'super-pw-not-logged' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Pgpool-II 4.3 streaming replication with load balancing', { skip: !(existsSync(PGPOOL_BIN) && pgAvailable('15')) && 'pgpool2 or PostgreSQL 15 not installed' }, () => {
  let pki: TestPki;
  let primary: PgInstance;
  let standby: PgInstance;
  let pp: PgpoolInstance;

  before(async () => {
    pki = await testPki();
    const tls = pki.material(pki.caA, await pki.server(pki.caA));
    primary = await PgInstance.create('15', { sslMode: 'require', clientAuthMode: 'scram', tls });
    await primary.writeConfig(primary.with({ replicationUser: 'postgres' }));
    await primary.query('SELECT pg_reload_conf()');
    await primary.query(`ALTER ROLE postgres PASSWORD '${SUPER.password}'`);
    standby = await PgInstance.standbyOf(primary, { sslMode: 'require', clientAuthMode: 'scram', tls });
    // What spec.configuration would turn on: both checks every second.
    const t = parsePgpoolTunables('sr_check_period = 1\nhealth_check_period = 1\n', 'test');
    assert.deepEqual(t.errors, []);
    pp = await PgpoolInstance.create(
      (base) => ({
        ...base,
        sslMode: 'require',
        clientAuthMode: 'scram',
        backends: [{ host: '127.0.0.1', port: primary.port }, { host: '127.0.0.1', port: standby.port, applicationName: 'standby' }],
        checkUser: SUPER.name,
        users: [SUPER],
        pcpUsers: [{ name: 'pcp', password: 'pcp-pw-not-logged' }],
        tunables: t.settings,
      }),
      tls,
    );
  });
  after(async () => {
    await pp?.destroy();
    await standby?.destroy();
    await primary?.destroy();
  });

  const session = async <R extends pg.QueryResultRow>(sql: string): Promise<R[]> => {
    const c = new pg.Client({ host: '127.0.0.1', port: pp.port, user: SUPER.name, password: SUPER.password, database: 'postgres', ssl: { ca: pki.caA.certPem, servername: 'localhost' }, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query<R>(sql)).rows;
    } finally {
      await c.end();
    }
  };

  it("renders KubeDB's lines and no password", () => {
    const conf = readFileSync(join(pp.paths.configDir, 'pgpool.conf'), 'utf8');
    for (const l of ["backend_clustering_mode = 'streaming_replication'", "backend_flag0 = 'ALWAYS_PRIMARY|DISALLOW_TO_FAILOVER'", 'load_balance_mode = on', "sr_check_user = 'postgres'", "sr_check_password = ''"]) {
      assert.ok(conf.split('\n').includes(l), `missing ${l}`);
    }
    assert.doesNotMatch(conf, new RegExp(SUPER.password));
  });

  it('writes go to the primary and stream to the standby; reads are balanced to the standby over TLS', async () => {
    await session('CREATE TABLE lb_probe (x int); INSERT INTO lb_probe VALUES (1)');
    let rows = 0;
    for (let i = 0; i < 40 && rows < 1; i++) {
      rows = Number((await standby.query<{ n: string }>('SELECT count(*) AS n FROM lb_probe').catch(() => [{ n: '0' }]))[0]!.n);
      if (rows < 1) await sleep(250);
    }
    assert.equal(rows, 1, 'the write reached the primary and streamed to the standby');
    // A user table (queries on system catalogs always go to the primary): each session picks its load-balance node.
    const reached = new Set<number>();
    let standbyLinks: { n: string; all_ssl: boolean } | undefined;
    for (let i = 0; i < 40 && reached.size < 2; i++) {
      const c = new pg.Client({ host: '127.0.0.1', port: pp.port, user: SUPER.name, password: SUPER.password, database: 'postgres', ssl: { ca: pki.caA.certPem, servername: 'localhost' }, connectionTimeoutMillis: 5000 });
      c.on('error', () => undefined);
      await c.connect();
      try {
        const port = (await c.query<{ port: number }>('SELECT inet_server_port() AS port FROM lb_probe LIMIT 1')).rows[0]!.port;
        reached.add(port);
        // While this session holds it: Pgpool's connection to the standby is TLS.
        if (port === standby.port) {
          standbyLinks = (await standby.query<{ n: string; all_ssl: boolean }>(
            "SELECT count(*) AS n, bool_and(s.ssl) AS all_ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.backend_type = 'client backend' AND a.client_addr IS NOT NULL",
          ))[0];
        }
      } finally {
        await c.end();
      }
    }
    assert.deepEqual([...reached].sort(), [primary.port, standby.port].sort(), 'sessions were balanced to both nodes');
    const nodes = await session<{ node_id: string; select_cnt: string }>('SHOW pool_nodes');
    assert.ok(Number(nodes[1]!.select_cnt) > 0, `select_cnt of the standby: ${JSON.stringify(nodes)}`);
    assert.ok(Number(standbyLinks?.n ?? 0) > 0, 'Pgpool holds a connection to the standby during the session');
    assert.equal(standbyLinks!.all_ssl, true, 'every Pgpool connection to the standby is TLS');
  });

  it('SHOW pool_nodes: node 0 primary, node 1 standby; the checks log in with the pool_passwd password and see the standby streaming', async () => {
    type Node = { node_id: string; port: string; status: string; role: string; replication_state: string };
    let nodes: Node[] = [];
    for (let i = 0; i < 40; i++) {
      nodes = await session<Node>('SHOW pool_nodes');
      if (nodes[1]?.replication_state === 'streaming') break;
      await sleep(250);
    }
    assert.deepEqual(nodes.map((n) => [n.node_id, Number(n.port), n.role, n.status]), [['0', primary.port, 'primary', 'up'], ['1', standby.port, 'standby', 'up']]);
    assert.equal(nodes[1]!.replication_state, 'streaming', JSON.stringify(nodes));
    type Hc = { node_id: string; success_count: string; fail_count: string };
    const hc = await session<Hc>('SHOW pool_health_check_stats');
    for (const n of hc) assert.ok(Number(n.success_count) > 0 && Number(n.fail_count) === 0, JSON.stringify(n));
    assert.doesNotMatch(pp.proc!.log(), /password authentication failed|health check failed|failed to make persistent db connection/);
  });
});
