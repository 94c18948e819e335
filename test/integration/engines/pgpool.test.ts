// Pgpool-II 4.3 in front of PostgreSQL 15, real local processes: a reload does NOT change the
// served certificate (so the engine restarts), ssl on/off needs a restart, and the backend CA
// file content is picked up with no action at all.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PgInstance, pgAvailable } from './harness/postgres.ts';
import { PgpoolInstance, PGPOOL_BIN } from './harness/pgpool.ts';
import { testPki, type TestPki } from './harness/pki.ts';
import { pgpoolProcessEngine as pgpoolEngine } from './harness/process/engines.ts';
import { applyPostgresTls } from './harness/process/postgres-apply.ts';
import { probeTls, type ServedCert } from '../../../src/engines/shared/probe.ts';
import { TlsApplyError } from './harness/process/apply.ts';
import { transitionBundle } from '../../../src/certs/bundle.ts';
import { fingerprint256 } from '../../../src/certs/inspect.ts';

const APP = { name: 'app', password: 'app-pw-not-logged' };

describe('Pgpool-II 4.3 TLS by restart', { skip: !(existsSync(PGPOOL_BIN) && pgAvailable('15')) && 'pgpool2 or PostgreSQL 15 not installed' }, () => {
  let pki: TestPki;
  let db: PgInstance;
  let pp: PgpoolInstance;

  before(async () => {
    pki = await testPki();
    db = await PgInstance.create('15', { sslMode: 'verify-full', clientAuthMode: 'scram', tls: pki.material(pki.caA, await pki.server(pki.caA)) });
    await db.query(`CREATE ROLE ${APP.name} LOGIN PASSWORD '${APP.password}'`);
    pp = await PgpoolInstance.create(
      (base) => ({
        ...base,
        sslMode: 'verify-full',
        clientAuthMode: 'scram',
        backends: [{ host: '127.0.0.1', port: db.port }],
        users: [APP],
        pcpUsers: [{ name: 'pcpadmin', password: 'pcp-pw-not-logged' }],
      }),
      pki.material(pki.caA, await pki.server(pki.caA)),
    );
  });
  after(async () => {
    await pp?.destroy();
    await db?.destroy();
  });

  async function viaPgpool(ca: string): Promise<{ backendSsl: boolean }> {
    const c = new pg.Client({ host: '127.0.0.1', port: pp.port, user: APP.name, password: APP.password, database: 'postgres', ssl: { ca, servername: 'localhost' }, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      const r = await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      return { backendSsl: r.rows[0]!.ssl };
    } finally {
      await c.end();
    }
  }

  it('serves TLS with the rendered config; the backend link is TLS too', async () => {
    const conf = readFileSync(join(pp.paths.configDir, 'pgpool.conf'), 'utf8');
    assert.match(conf, /^ssl = on$/m);
    assert.match(conf, new RegExp(`^ssl_ca_cert = '${pp.paths.tls.caFile}'$`, 'm'));
    assert.deepEqual(await viaPgpool(pki.caA.certPem), { backendSsl: true });
  });

  it('a reload leaves the old certificate served: verifyServed catches it', async () => {
    const before = (await probeTls(pp.target())) as ServedCert;
    const next = await pki.server(pki.caA);
    await pp.installTls(pki.material(pki.caA, next));
    await assert.rejects(
      pgpoolEngine.applyTls(pp.target(), { expected: { certPem: next.certPem }, decision: { mode: 'reload', reason: 'test: what if we only reloaded' }, verify: { timeoutMs: 800 } }),
      (err: unknown) => err instanceof TlsApplyError && err.served?.kind === 'tls' && err.served.fingerprint256 === before.fingerprint256,
    );
  });

  it('the restart path serves the new certificate', async () => {
    const next = await pki.server(pki.caA);
    await pp.installTls(pki.material(pki.caA, next));
    const decision = pgpoolEngine.tlsApplyMode(
      { sslMode: 'verify-full', clientAuthMode: 'scram', certFingerprint: 'old' },
      { sslMode: 'verify-full', clientAuthMode: 'scram', certFingerprint: fingerprint256(next.certPem) },
    );
    assert.equal(decision.mode, 'restart');
    const r = await pgpoolEngine.applyTls(pp.target(), { expected: { certPem: next.certPem }, decision, restart: () => pp.restart(), verify: { ca: pki.caA.certPem } });
    assert.equal(r.path, 'restart');
    assert.deepEqual(await viaPgpool(pki.caA.certPem), { backendSsl: true });
  });

  it('the backend CA file content is re-read per backend connection: no reload, no restart', async () => {
    const both = transitionBundle(pki.caA.certPem, pki.caB.certPem);
    const served = (await probeTls(pp.target())) as ServedCert;
    const key = readFileSync(pp.paths.tls.keyFile, 'utf8');
    await pp.installTls({ certPem: served.certPem, keyPem: key, caPem: both });
    const d = pgpoolEngine.tlsApplyMode(
      { sslMode: 'verify-full', clientAuthMode: 'scram', caFingerprints: ['a'] },
      { sslMode: 'verify-full', clientAuthMode: 'scram', caFingerprints: ['a', 'b'] },
    );
    assert.equal(d.mode, 'none');
    const pgLeaf = await pki.server(pki.caB);
    await db.installTls(pki.material(pki.caB, pgLeaf, both));
    await applyPostgresTls(db.target(), { expected: { certPem: pgLeaf.certPem } });
    assert.deepEqual(await viaPgpool(pki.caA.certPem), { backendSsl: true });
  });

  it('ssl off is ignored by reload and taken by restart; on again by restart', async () => {
    const served = (await probeTls(pp.target())) as ServedCert;
    const on = pp.input;
    await pp.writeConfig(pp.with({ sslMode: 'disable' }));
    assert.match(readFileSync(join(pp.paths.configDir, 'pgpool.conf'), 'utf8'), /^ssl = 'off'$/m);
    await assert.rejects(pgpoolEngine.applyTls(pp.target(), { expected: 'no-ssl', decision: { mode: 'reload', reason: 'test' }, verify: { timeoutMs: 800 } }), TlsApplyError);
    const d = pgpoolEngine.tlsApplyMode({ sslMode: 'verify-full', clientAuthMode: 'scram' }, { sslMode: 'disable', clientAuthMode: 'scram' });
    assert.equal(d.mode, 'restart');
    await pgpoolEngine.applyTls(pp.target(), { expected: 'no-ssl', decision: d, restart: () => pp.restart() });
    await pp.writeConfig(on);
    await pgpoolEngine.applyTls(pp.target(), { expected: { certPem: served.certPem }, restart: () => pp.restart() });
  });
});
