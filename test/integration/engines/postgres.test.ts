// PostgreSQL 15 and 18 as real local processes: every TLS change by reload, proven on the wire.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PgInstance, pgAvailable, type PgVersion } from './harness/postgres.ts';
import { testPki, type TestPki } from './harness/pki.ts';
import { postgresProcessEngine as postgresEngine } from './harness/process/engines.ts';
import { applyPostgresTls } from './harness/process/postgres-apply.ts';
import { probeTls } from '../../../src/engines/shared/probe.ts';
import { restoreAndVerify, TlsApplyError } from './harness/process/apply.ts';
import { reloadPostgres } from './harness/process/postgres-reload.ts';
import { transitionBundle } from '../../../src/certs/bundle.ts';
import { fingerprint256 } from '../../../src/certs/inspect.ts';
import type { KeyPairPem } from '../../../src/certs/issue.ts';

for (const version of ['15', '18'] as PgVersion[]) {
  describe(`PostgreSQL ${version} TLS by reload`, { skip: !pgAvailable(version) && `PostgreSQL ${version} binaries not installed` }, () => {
    let pki: TestPki;
    let pgi: PgInstance;
    let leaf1: KeyPairPem;

    before(async () => {
      pki = await testPki();
      leaf1 = await pki.server(pki.caA);
      pgi = await PgInstance.create(version, { sslMode: 'verify-full', clientAuthMode: 'scram', tls: pki.material(pki.caA, leaf1) });
    });
    after(async () => {
      await pgi?.destroy();
    });

    it('serves the installed certificate, trusted by its CA with hostname checks', async () => {
      const r = await probeTls(pgi.target(), { ca: pki.caA.certPem });
      assert.equal(r.kind, 'tls');
      assert.equal(r.kind === 'tls' && r.fingerprint256, fingerprint256(leaf1.certPem));
      assert.equal(r.kind === 'tls' && r.authorized, true, r.kind === 'tls' ? r.authorizationError : '');
      const ssl = await pgi.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'ssl_cert_file'");
      assert.equal(ssl[0]?.setting, pgi.tlsPaths.server.certFile);
    });

    it('rotates the certificate by reload and the new serial is served', async () => {
      const leaf2 = await pki.server(pki.caA, { serial: '0b02' });
      // A session open across the reload keeps working.
      await pgi.query("ALTER USER postgres PASSWORD 'pw-not-logged'");
      const c = new pg.Client({ host: '127.0.0.1', port: pgi.port, user: 'postgres', password: 'pw-not-logged', database: 'postgres', ssl: { ca: pki.caA.certPem, servername: 'localhost' } });
      await c.connect();
      try {
        await pgi.installTls(pki.material(pki.caA, leaf2));
        const r = await postgresEngine.applyTls(pgi.target(), { expected: { certPem: leaf2.certPem } });
        assert.equal(r.path, 'reload');
        assert.match(r.served, /serial 0B02/);
        assert.ok(r.servedAfterMs < 5000);
        assert.equal((await c.query('SELECT 42 AS x')).rows[0].x, 42);
      } finally {
        await c.end();
      }
    });

    it('switches CA through a transition bundle, by reload', async () => {
      const leafB = await pki.server(pki.caB);
      // Step 1: trust both CAs (client certs from either CA verify) while still serving the CA A leaf.
      const current = (await probeTls(pgi.target())) as { certPem: string };
      await pgi.installTls({ certPem: current.certPem, keyPem: readFileSync(pgi.tlsPaths.server.keyFile, 'utf8'), caPem: transitionBundle(pki.caA.certPem, pki.caB.certPem) });
      await applyPostgresTls(pgi.target(), { expected: { certPem: current.certPem } });
      // Step 2: serve the CA B leaf.
      await pgi.installTls(pki.material(pki.caB, leafB, transitionBundle(pki.caA.certPem, pki.caB.certPem)));
      const r = await applyPostgresTls(pgi.target(), { expected: { certPem: leafB.certPem }, verify: { ca: pki.caB.certPem } });
      assert.equal(r.path, 'reload');
      const old = await probeTls(pgi.target(), { ca: pki.caA.certPem });
      assert.equal(old.kind === 'tls' && old.authorized, false, 'a client trusting only CA A must now fail');
      // Step 3: drop CA A.
      await pgi.installTls(pki.material(pki.caB, leafB));
      await applyPostgresTls(pgi.target(), { expected: { certPem: leafB.certPem }, verify: { ca: pki.caB.certPem } });
    });

    it('turns TLS off and on again by reload', async () => {
      const served = (await probeTls(pgi.target())) as { certPem: string };
      const on = pgi.input;
      await pgi.writeConfig(pgi.with({ sslMode: 'disable', clientAuthMode: 'scram' }));
      const off = await applyPostgresTls(pgi.target(), { expected: 'no-ssl' });
      assert.equal(off.path, 'reload');
      const s = await pgi.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name IN ('ssl', 'ssl_cert_file') ORDER BY name");
      assert.deepEqual(s.map((r) => r.setting), ['off', 'server.crt'], 'PostgreSQL defaults are back, as the remove guide checks');
      await pgi.writeConfig(on);
      await applyPostgresTls(pgi.target(), { expected: { certPem: served.certPem } });
    });

    it('catches a reload the server silently ignored (mismatched key), and the restore path works', async () => {
      const served = (await probeTls(pgi.target())) as { certPem: string };
      const other = await pki.server(pki.caB);
      const wrongKey = await pki.server(pki.caB);
      const inst = await pgi.installTls({ certPem: other.certPem, keyPem: wrongKey.keyPem, caPem: pki.caB.certPem });
      await assert.rejects(applyPostgresTls(pgi.target(), { expected: { certPem: other.certPem }, verify: { timeoutMs: 1500 } }), (err: unknown) => {
        assert.ok(err instanceof TlsApplyError);
        assert.match(err.message, /served instead: certificate/);
        assert.equal(err.served?.kind === 'tls' && err.served.fingerprint256, fingerprint256(served.certPem), 'the old certificate is still served');
        return true;
      });
      const back = await restoreAndVerify(inst.previous, pgi.target(), { certPem: served.certPem }, () => reloadPostgres(pgi.target()));
      assert.match(back.served, new RegExp(fingerprint256(served.certPem)));
      assert.match(pgi.proc!.log(), /SSL configuration was not reloaded/);
    });

    it('does not reload a config PostgreSQL would reject', async () => {
      const hba = join(pgi.data, 'pg_hba.conf');
      const good = readFileSync(hba, 'utf8');
      writeFileSync(hba, good + 'hostssl all all 127.0.0.1/32 no-such-method\n');
      try {
        await assert.rejects(applyPostgresTls(pgi.target(), { expected: 'no-ssl' }), /would reject the new config.*pg_hba\.conf:\d+/);
      } finally {
        writeFileSync(hba, good);
      }
    });

    it('cert auth: a client cert with CN=postgres logs in, no cert is refused', async () => {
      const leaf = (await probeTls(pgi.target())) as { certPem: string };
      await pgi.writeConfig(pgi.with({ sslMode: 'verify-full', clientAuthMode: 'cert' }));
      await applyPostgresTls(pgi.target(), { expected: { certPem: leaf.certPem } });
      const caPem = readFileSync(pgi.tlsPaths.server.caFile, 'utf8');
      const ca = caPem.includes(pki.caB.certPem.trim()) ? pki.caB : pki.caA;
      const cli = await pki.client(ca, 'postgres');
      const connect = async (ssl: pg.ClientConfig['ssl']) => {
        const c = new pg.Client({ host: '127.0.0.1', port: pgi.port, user: 'postgres', database: 'postgres', ssl, connectionTimeoutMillis: 3000 });
        c.on('error', () => undefined);
        await c.connect();
        try {
          return (await c.query<{ u: string; dn: string }>('SELECT current_user AS u, client_dn AS dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0];
        } finally {
          await c.end();
        }
      };
      const row = await connect({ ca: ca.certPem, servername: 'localhost', cert: cli.certPem, key: cli.keyPem });
      assert.equal(row?.u, 'postgres');
      assert.equal(row?.dn, '/CN=postgres');
      await assert.rejects(connect({ ca: ca.certPem, servername: 'localhost' }), /certificate|no pg_hba|password/i);
      const hba = readFileSync(join(pgi.data, 'pg_hba.conf'), 'utf8');
      assert.match(hba, /^hostssl\s+all\s+all\s+127\.0\.0\.1\/32\s+cert$/m);
      assert.match(hba, /^hostnossl\s+all\s+all\s+127\.0\.0\.1\/32\s+reject$/m);
    });
  });
}
