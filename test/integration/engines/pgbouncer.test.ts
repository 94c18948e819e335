// PgBouncer 1.18 in front of PostgreSQL 15, both real local processes: client TLS rotation,
// CA switches on both sides and TLS on/off, all by RELOAD, proven on the wire.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PgInstance, pgAvailable } from './harness/postgres.ts';
import { PgBouncerInstance, PGBOUNCER_BIN, ADMIN } from './harness/pgbouncer.ts';
import { testPki, type TestPki } from './harness/pki.ts';
import { pgbouncerProcessEngine as pgbouncerEngine } from './harness/process/engines.ts';
import { reconnectPgBouncer, reloadPgBouncer } from './harness/process/pgbouncer-admin.ts';
import { applyPostgresTls } from './harness/process/postgres-apply.ts';
import { probeTls, type ServedCert } from '../../../src/engines/shared/probe.ts';
import { restoreAndVerify, TlsApplyError } from './harness/process/apply.ts';
import { transitionBundle } from '../../../src/certs/bundle.ts';
import { fingerprint256 } from '../../../src/certs/inspect.ts';

const APP = { name: 'app', password: 'app-pw-not-logged' };

describe('PgBouncer TLS by RELOAD', { skip: !(existsSync(PGBOUNCER_BIN) && pgAvailable('15')) && 'pgbouncer or PostgreSQL 15 not installed' }, () => {
  let pki: TestPki;
  let db: PgInstance;
  let pgb: PgBouncerInstance;

  before(async () => {
    pki = await testPki();
    db = await PgInstance.create('15', { sslMode: 'verify-full', clientAuthMode: 'scram', tls: pki.material(pki.caA, await pki.server(pki.caA)) });
    await db.query(`CREATE ROLE ${APP.name} LOGIN PASSWORD '${APP.password}'`);
    pgb = await PgBouncerInstance.create(
      (base) => ({
        ...base,
        sslMode: 'require',
        authType: 'scram',
        backend: { host: '127.0.0.1', port: db.port, sslMode: 'verify-full', databaseName: 'postgres' },
        users: [APP, ADMIN],
      }),
      { serving: pki.material(pki.caA, await pki.server(pki.caA)), backendCa: pki.caA.certPem },
    );
  });
  after(async () => {
    await pgb?.destroy();
    await db?.destroy();
  });

  /** A client through PgBouncer, verify-full against `ca`; returns whether the backend link is TLS. */
  async function viaBouncer(ca: string): Promise<{ backendSsl: boolean }> {
    const c = new pg.Client({ host: '127.0.0.1', port: pgb.port, user: APP.name, password: APP.password, database: 'postgres', ssl: { ca, servername: 'localhost' }, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      const r = await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      return { backendSsl: r.rows[0]!.ssl };
    } finally {
      await c.end();
    }
  }

  it('renders the guide\'s client_tls_* lines and serves TLS on both sides', async () => {
    const ini = readFileSync(join(pgb.paths.configDir, 'pgbouncer.ini'), 'utf8');
    assert.match(ini, /^client_tls_sslmode = require$/m);
    assert.match(ini, new RegExp(`^client_tls_ca_file = ${pgb.paths.serving.caFile}$`, 'm'));
    assert.match(ini, /^server_tls_sslmode = verify-full$/m);
    assert.deepEqual(await viaBouncer(pki.caA.certPem), { backendSsl: true });
  });

  it('rotates the client-side certificate by RELOAD; an open session survives', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: pgb.port, user: APP.name, password: APP.password, database: 'postgres', ssl: { ca: pki.caA.certPem, servername: 'localhost' } });
    await c.connect();
    try {
      const next = await pki.server(pki.caA);
      await pgb.installServing(pki.material(pki.caA, next));
      const r = await pgbouncerEngine.applyTls(pgb.target(), { expected: { certPem: next.certPem }, verify: { ca: pki.caA.certPem } });
      assert.equal(r.path, 'reload');
      assert.equal((await c.query('SELECT 7 AS x')).rows[0].x, 7);
    } finally {
      await c.end();
    }
  });

  it('switches the backend CA without a hang: bundle in server_tls_ca_file first, then PostgreSQL moves', async () => {
    const both = transitionBundle(pki.caA.certPem, pki.caB.certPem);
    await pgb.installBackendCa(both);
    await reloadPgBouncer(pgb.target());
    const pgLeaf = await pki.server(pki.caB);
    await db.installTls(pki.material(pki.caB, pgLeaf, both));
    await applyPostgresTls(db.target(), { expected: { certPem: pgLeaf.certPem } });
    await reconnectPgBouncer(pgb.target(), 'postgres');
    assert.deepEqual(await viaBouncer(pki.caA.certPem), { backendSsl: true });
    const served = await probeTls(db.target(), { ca: pki.caB.certPem });
    assert.equal(served.kind === 'tls' && served.authorized, true);
  });

  it('switches the client-side CA through a transition bundle', async () => {
    const both = transitionBundle(pki.caA.certPem, pki.caB.certPem);
    const leafB = await pki.server(pki.caB);
    await pgb.installServing(pki.material(pki.caB, leafB, both));
    await pgbouncerEngine.applyTls(pgb.target(), { expected: { certPem: leafB.certPem }, verify: { ca: both } });
    assert.deepEqual(await viaBouncer(both), { backendSsl: true });
    await assert.rejects(viaBouncer(pki.caA.certPem), /self.signed|unable to verify|certificate/i);
  });

  it('turns client TLS off and on by RELOAD', async () => {
    const served = (await probeTls(pgb.target())) as ServedCert;
    const on = pgb.input;
    await pgb.writeConfig(pgb.with({ sslMode: 'disable' }));
    // The remove guide's check: no client_tls_* keys left; RELOAD resets vanished keys to defaults.
    assert.doesNotMatch(readFileSync(join(pgb.paths.configDir, 'pgbouncer.ini'), 'utf8'), /^client_tls_/m);
    assert.equal((await pgbouncerEngine.applyTls(pgb.target(), { expected: 'no-ssl' })).path, 'reload');
    await pgb.writeConfig(on);
    await pgbouncerEngine.applyTls(pgb.target(), { expected: { certPem: served.certPem } });
  });

  it('catches a rejected key pair (RELOAD still says OK) and restores', async () => {
    const served = (await probeTls(pgb.target())) as ServedCert;
    const a = await pki.server(pki.caB);
    const b = await pki.server(pki.caB);
    const inst = await pgb.installServing({ certPem: a.certPem, keyPem: b.keyPem, caPem: pki.caB.certPem });
    await assert.rejects(pgbouncerEngine.applyTls(pgb.target(), { expected: { certPem: a.certPem }, verify: { timeoutMs: 1000 } }), (err: unknown) => {
      assert.ok(err instanceof TlsApplyError);
      assert.equal(err.served?.kind === 'tls' && err.served.fingerprint256, served.fingerprint256);
      return true;
    });
    const back = await restoreAndVerify(inst.previous, pgb.target(), { certPem: served.certPem }, () => reloadPgBouncer(pgb.target()));
    assert.match(back.served, new RegExp(fingerprint256(served.certPem)));
  });
});
