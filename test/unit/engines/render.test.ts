// Rendering from engine-neutral inputs, with KubeDB's default paths: the lines the KubeDB
// guides check (kubedb-api.md §3.4, §5) must come out exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderPostgresConfig, renderPgHba, primaryConninfo, type PostgresConfigInput } from '../../../src/engines/postgres/index.ts';
import { renderPgBouncerConfig, type PgBouncerConfigInput } from '../../../src/engines/pgbouncer/index.ts';
import { parsePgpoolTunables, renderPgpoolConfig, renderPcpConf, type PgpoolConfigInput } from '../../../src/engines/pgpool/index.ts';

const listen = { address: '*', port: 5432, socketDir: '/var/run/postgresql' };

describe('PostgreSQL rendering', () => {
  const base: PostgresConfigInput = { listen, sslMode: 'verify-full', clientAuthMode: 'cert' };

  it('TLS on: the guide\'s ssl settings with /tls/certs/server paths', () => {
    const conf = renderPostgresConfig(base).files.get('postgresql.conf')!;
    for (const line of [
      'ssl = on',
      "ssl_cert_file = '/tls/certs/server/server.crt'",
      "ssl_key_file = '/tls/certs/server/server.key'",
      "ssl_ca_file = '/tls/certs/server/ca.crt'",
      "listen_addresses = '*'",
      'port = 5432',
    ]) assert.ok(conf.split('\n').includes(line), `missing ${line}`);
  });

  it('TLS off: ssl = off and no file settings, so PostgreSQL\'s defaults come back on reload', () => {
    const conf = renderPostgresConfig({ ...base, sslMode: 'disable', clientAuthMode: 'md5' }).files.get('postgresql.conf')!;
    assert.match(conf, /^ssl = off$/m);
    assert.doesNotMatch(conf, /ssl_cert_file/);
    assert.match(conf, /^password_encryption = 'md5'$/m);
  });

  it('pg_hba follows sslMode and clientAuthMode', () => {
    const lines = (s: string) => s.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/).join(' '));
    assert.deepEqual(lines(renderPgHba({ sslMode: 'verify-full', clientAuthMode: 'cert', clientCidrs: ['10.0.0.0/8'] })), [
      'local all all trust',
      'hostssl all all 10.0.0.0/8 cert',
      'hostnossl all all 10.0.0.0/8 reject',
    ]);
    assert.deepEqual(lines(renderPgHba({ sslMode: 'prefer', clientAuthMode: 'scram', clientCidrs: ['10.0.0.0/8'] })), [
      'local all all trust',
      'hostssl all all 10.0.0.0/8 scram-sha-256',
      'hostnossl all all 10.0.0.0/8 scram-sha-256',
    ]);
    assert.deepEqual(lines(renderPgHba({ sslMode: 'disable', clientAuthMode: 'md5', clientCidrs: ['10.0.0.0/8'], replicationUser: 'repl' })), [
      'local all all trust',
      'local replication all trust',
      'host replication repl 10.0.0.0/8 md5',
      'host all all 10.0.0.0/8 md5',
    ]);
    const req = lines(renderPgHba({ sslMode: 'require', clientAuthMode: 'md5', replicationUser: 'repl' }));
    assert.ok(req.includes('hostssl replication repl 0.0.0.0/0 md5'));
    assert.ok(req.includes('hostnossl replication repl ::/0 reject'));
    assert.throws(() => renderPgHba({ sslMode: 'disable', clientAuthMode: 'cert' }), /cert needs TLS/);
  });

  it('standbys get primary_conninfo with sslmode/sslrootcert (and the client cert in cert mode) and standby.signal', () => {
    const standby = { ...base, standby: { primaryHost: 'pg-0.pg-pods.demo.svc', primaryPort: 5432, user: 'postgres', applicationName: 'pg-1' } };
    assert.equal(
      primaryConninfo(standby),
      'host=pg-0.pg-pods.demo.svc port=5432 user=postgres application_name=pg-1 sslmode=verify-full sslrootcert=/tls/certs/client/ca.crt sslcert=/tls/certs/client/client.crt sslkey=/tls/certs/client/client.key',
    );
    const r = renderPostgresConfig(standby);
    assert.equal(r.files.get('standby.signal'), '');
    assert.match(r.files.get('postgresql.conf')!, /^primary_conninfo = 'host=pg-0\.pg-pods\.demo\.svc .*sslmode=verify-full/m);
    assert.equal(primaryConninfo({ ...standby, sslMode: 'disable', clientAuthMode: 'md5' }).endsWith('sslmode=disable'), true);
  });

  it('refuses to let extra settings override TLS ones or inject lines', () => {
    assert.throws(() => renderPostgresConfig({ ...base, settings: { ssl: false } }), /managed by pgtls/);
    assert.throws(() => renderPostgresConfig({ ...base, settings: { work_mem: "4MB'\nssl = off" } }), /newline/);
  });
});

describe('PgBouncer rendering', () => {
  const base: PgBouncerConfigInput = {
    listen: { address: '*', port: 5432, socketDir: '/var/run/pgbouncer' },
    sslMode: 'verify-full',
    authType: 'md5',
    backend: { host: 'ha-postgres.demo.svc', port: 5432, sslMode: 'disable', databaseName: 'postgres' },
    users: [{ name: 'postgres', password: 'p"w' }, { name: 'pgbouncer' }],
    adminUsers: ['pgbouncer'],
  };

  it('TLS on: exactly the guide\'s client_tls_* lines', () => {
    const ini = renderPgBouncerConfig(base).files.get('pgbouncer.ini')!.split('\n');
    for (const line of [
      'client_tls_sslmode = verify-full',
      'client_tls_ca_file = /var/run/pgbouncer/tls/serving/server/ca.crt',
      'client_tls_key_file = /var/run/pgbouncer/tls/serving/server/tls.key',
      'client_tls_cert_file = /var/run/pgbouncer/tls/serving/server/tls.crt',
      'postgres = host=ha-postgres.demo.svc port=5432 dbname=postgres',
      'auth_type = hba',
    ]) assert.ok(ini.includes(line), `missing ${line}`);
    assert.ok(!ini.some((l) => l.startsWith('server_tls_')), 'no server_tls_* with a plain-text backend');
  });

  it('TLS off: no client_tls_* keys (the remove guide\'s check)', () => {
    const r = renderPgBouncerConfig({ ...base, sslMode: 'disable' });
    assert.doesNotMatch(r.files.get('pgbouncer.ini')!, /client_tls_/);
    assert.match(r.files.get('hba.conf')!, /^host\s+all\s+all\s+0\.0\.0\.0\/0\s+md5$/m);
  });

  it('backend TLS: server_tls_* with the backend CA, and the client cert only when asked', () => {
    const b = { ...base.backend, sslMode: 'verify-full' as const };
    const ini = renderPgBouncerConfig({ ...base, backend: b }).files.get('pgbouncer.ini')!;
    assert.match(ini, /^server_tls_sslmode = verify-full$/m);
    assert.match(ini, /^server_tls_ca_file = \/var\/run\/pgbouncer\/tls\/backend\/ca\.crt$/m);
    assert.doesNotMatch(ini, /server_tls_cert_file/);
    assert.match(renderPgBouncerConfig({ ...base, backend: { ...b, clientCert: true } }).files.get('pgbouncer.ini')!, /^server_tls_cert_file = /m);
  });

  it('userlist quotes names and passwords and is a secret file', () => {
    const r = renderPgBouncerConfig(base);
    assert.equal(r.files.get('userlist.txt'), '"postgres" "p""w"\n"pgbouncer" ""\n');
    assert.deepEqual([...r.secretFiles], ['userlist.txt']);
  });
});

describe('Pgpool rendering', () => {
  const base: PgpoolConfigInput = {
    listen: { address: '*', port: 9999, socketDir: '/var/run/pgpool' },
    pcp: { port: 9595 },
    sslMode: 'require',
    clientAuthMode: 'cert',
    backends: [{ host: 'ha-postgres.demo.svc', port: 5432 }],
    users: [{ name: 'postgres', password: 'pw' }],
    pcpUsers: [{ name: 'pcp', password: 'password' }],
  };

  it('TLS on: exactly the guide\'s pgpool.conf lines', () => {
    const conf = renderPgpoolConfig(base).files.get('pgpool.conf')!.split('\n');
    for (const line of [
      'ssl = on',
      "ssl_ca_cert = '/opt/pgpool-II/tls/ca.pem'",
      "ssl_key = '/opt/pgpool-II/tls/tls.key'",
      "ssl_cert = '/opt/pgpool-II/tls/tls.crt'",
      "backend_clustering_mode = 'streaming_replication'",
      "backend_hostname0 = 'ha-postgres.demo.svc'",
      'backend_port0 = 5432',
      'enable_pool_hba = on',
      "socket_dir = '/var/run/pgpool'",
    ]) assert.ok(conf.includes(line), `missing ${line}`);
  });

  it("streaming replication: the guide's backend, pool and load-balancing lines, in KubeDB's order", () => {
    const conf = renderPgpoolConfig({
      ...base,
      sslMode: 'disable',
      clientAuthMode: 'md5',
      backends: [{ host: 'ha-postgres.demo.svc', port: 5432 }, { host: 'ha-postgres-standby.demo.svc', port: 5432 }],
      checkUser: 'postgres',
    }).files.get('pgpool.conf')!.split('\n');
    // The Pgpool ReconfigureTLS guide's `cat /opt/pgpool-II/etc/pgpool.conf`, line for line (listen and
    // socket lines aside: the renderer was given '*' and the guide's socket dir).
    const guide = [
      "backend_hostname0 = 'ha-postgres.demo.svc'",
      'backend_port0 = 5432',
      'backend_weight0 = 1',
      "backend_flag0 = 'ALWAYS_PRIMARY|DISALLOW_TO_FAILOVER'",
      "backend_hostname1 = 'ha-postgres-standby.demo.svc'",
      'backend_port1 = 5432',
      'backend_weight1 = 1',
      "backend_flag1 = 'DISALLOW_TO_FAILOVER'",
      'enable_pool_hba = on',
      'port = 9999',
      "socket_dir = '/var/run/pgpool'",
      'pcp_port = 9595',
      "pcp_socket_dir = '/var/run/pgpool'",
      'log_per_node_statement = on',
      'sr_check_period = 0',
      'health_check_period = 0',
      "backend_clustering_mode = 'streaming_replication'",
      'num_init_children = 5',
      'max_pool = 15',
      'child_life_time = 300',
      'child_max_connections = 0',
      'connection_life_time = 0',
      'client_idle_limit = 0',
      'connection_cache = on',
      'load_balance_mode = on',
      "ssl = 'off'",
      "failover_on_backend_error = 'off'",
      "log_min_messages = 'warning'",
      "statement_level_load_balance = 'off'",
      "memory_cache_enabled = 'off'",
      "allow_clear_text_frontend_auth = 'false'",
    ];
    const at = guide.map((l) => conf.indexOf(l));
    guide.forEach((l, n) => assert.ok(at[n]! >= 0, `missing ${l}`));
    assert.deepEqual([...at].sort((a, b) => a - b), at, 'in the guide\'s order');
    // The checks log in as the backend's superuser, the password looked up in pool_passwd.
    for (const l of ["sr_check_user = 'postgres'", "sr_check_password = ''", "health_check_user = 'postgres'", "health_check_password = ''"]) assert.ok(conf.includes(l), `missing ${l}`);
  });

  it('spec.configuration settings override the defaults once each; a managed key must match; raw mode stays for one backend', () => {
    const p = parsePgpoolTunables('num_init_children=6\nmax_pool = 65\n# comment\nchild_life_time=400\nbackend_clustering_mode=\'streaming_replication\'\nload_balance_mode=off\n', 'inline');
    assert.deepEqual(p.errors, []);
    const conf = renderPgpoolConfig({ ...base, tunables: p.settings, managed: p.managed }).files.get('pgpool.conf')!;
    for (const l of ['num_init_children = 6', 'max_pool = 65', 'child_life_time = 400', 'load_balance_mode = off']) assert.equal(conf.split('\n').filter((x) => x === l).length, 1, l);
    assert.doesNotMatch(conf, /^num_init_children = 5$/m);
    assert.throws(() => renderPgpoolConfig({ ...base, managed: [['ssl', 'off']] }), /"ssl" is set by pgtls \(to "on"\); remove it from spec.configuration/);
    assert.throws(() => renderPgpoolConfig({ ...base, managed: [['backend_hostname0', 'elsewhere']] }), /backend_hostname0/);
    const raw = renderPgpoolConfig({ ...base, clusteringMode: 'raw' }).files.get('pgpool.conf')!;
    assert.match(raw, /^backend_clustering_mode = 'raw'$/m);
    assert.match(raw, /^load_balance_mode = off$/m);
    assert.match(raw, /^backend_flag0 = 'DISALLOW_TO_FAILOVER'$/m);
  });

  it('spec.configuration: unknown keys, bad values and zero pools are errors naming the key', () => {
    const p = parsePgpoolTunables('num_init_children = many\nmax_pool = 0\nfoo_bar = 1\nconnection_cache = maybe\nnot a line', 'inline');
    assert.equal(p.errors.length, 5, p.errors.join('\n'));
    assert.match(p.errors.join('\n'), /num_init_children must be a non-negative integer, got "many"/);
    assert.match(p.errors.join('\n'), /"foo_bar" is not a setting pgtls applies; supported: num_init_children, max_pool/);
    assert.match(p.errors.join('\n'), /connection_cache must be on or off/);
    assert.match(p.errors.join('\n'), /max_pool must be at least 1/);
    assert.match(p.errors.join('\n'), /line 5: expected "key = value"/);
  });

  it('TLS off: ssl = \'off\' as in the guide, no cert paths; 4.4+ socket names', () => {
    const conf = renderPgpoolConfig({ ...base, sslMode: 'disable', clientAuthMode: 'md5', version: '4.4+' }).files.get('pgpool.conf')!;
    assert.match(conf, /^ssl = 'off'$/m);
    assert.doesNotMatch(conf, /ssl_cert/);
    assert.match(conf, /^unix_socket_directories = /m);
  });

  it('pool_hba follows clientAuthMode; pool_passwd is TEXT; pcp.conf is md5 like pg_md5', () => {
    const r = renderPgpoolConfig(base);
    assert.match(r.files.get('pool_hba.conf')!, /^hostssl\s+all\s+all\s+0\.0\.0\.0\/0\s+cert$/m);
    assert.match(r.files.get('pool_hba.conf')!, /^hostnossl\s+all\s+all\s+0\.0\.0\.0\/0\s+reject$/m);
    assert.equal(r.files.get('pool_passwd'), 'postgres:TEXTpw\n');
    assert.equal(renderPcpConf([{ name: 'pcp', password: 'password' }]), 'pcp:5f4dcc3b5aa765d61d8327deb882cf99\n');
    assert.deepEqual([...r.secretFiles].sort(), ['pcp.conf', 'pool_passwd']);
  });
});
