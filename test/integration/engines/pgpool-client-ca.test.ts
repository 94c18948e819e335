// Issue 11 item 6 on Pgpool, at the engine: Pgpool-II logs a client
// certificate in by its CN alone, so what decides who may log in is the CA
// file (ssl_ca_cert). With a client CA of the Pgpool's own in that file
// (pgtls's ca.pem = own client CA + the backend's CA), a CN=app certificate
// from the shared CA that signs its server certificate (a ClusterIssuer's, say)
// is refused; with the issuer's CA in it (KubeDB's way, the control), the same
// certificate logs in. The backend's CA stays trusted for clients as well
// (one CA file in Pgpool-II): asserted, because docs/security.md says so.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgInstance, pgAvailable, pgBinDir } from './harness/postgres.ts';
import { PgpoolInstance, PGPOOL_BIN } from './harness/pgpool.ts';
import { testPki, type TestPki } from './harness/pki.ts';
import { issueCa, type IssuedCa, type KeyPairPem } from '../../../src/certs/issue.ts';
import { caBundle } from '../../../src/provisioner/pgpool/config.ts';

const APP = { name: 'app', password: 'app-pw-not-logged' };

describe('Pgpool-II cert login: a client CA of its own', { skip: !(existsSync(PGPOOL_BIN) && pgAvailable('15')) && 'pgpool2 or PostgreSQL 15 not installed' }, () => {
  let pki: TestPki;
  let own: IssuedCa;
  let db: PgInstance;
  let pp: PgpoolInstance;
  let server: KeyPairPem;

  before(async () => {
    pki = await testPki();
    // caA: the shared CA (Pgpool's server certificate, and anyone's client certificates); caB: the backend's.
    own = await issueCa({ commonName: 'pp client CA', algorithm: 'ecdsa', organizations: ['pgtls'] });
    db = await PgInstance.create('15', { sslMode: 'verify-full', clientAuthMode: 'scram', tls: pki.material(pki.caB, await pki.server(pki.caB)) });
    await db.query(`CREATE ROLE ${APP.name} LOGIN PASSWORD '${APP.password}'`);
    server = await pki.server(pki.caA);
    pp = await PgpoolInstance.create(
      (base) => ({
        ...base,
        sslMode: 'require',
        clientAuthMode: 'cert',
        backends: [{ host: '127.0.0.1', port: db.port }],
        users: [APP],
        pcpUsers: [{ name: 'pcpadmin', password: 'pcp-pw-not-logged' }],
      }),
      pki.material(pki.caA, server, caBundle(own.certPem, pki.caB.certPem)),
    );
  });
  after(async () => {
    await pp?.destroy();
    await db?.destroy();
  });

  /**
   * Logs in as app with this client certificate (no password) through psql;
   * `ok:<user>`, or `refused:<psql's error>`. psql rather than pg: a client
   * certificate Pgpool refuses ends its TLS handshake in a way pg's client
   * waits on forever.
   */
  async function login(cert: KeyPairPem): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'pgtls-ppcert-'));
    try {
      for (const [f, pem] of [['ca.crt', pki.caA.certPem], ['client.crt', cert.certPem], ['client.key', cert.keyPem]] as const) writeFileSync(join(dir, f), pem, { mode: 0o600 });
      const conn = `host=localhost hostaddr=127.0.0.1 port=${pp.port} user=${APP.name} dbname=postgres sslmode=verify-full sslrootcert=${dir}/ca.crt sslcert=${dir}/client.crt sslkey=${dir}/client.key connect_timeout=5`;
      return await new Promise((resolve) => {
        execFile(join(pgBinDir('15'), 'psql'), ['-XAtw', '-c', 'SELECT current_user', conn], { timeout: 15_000, env: { ...process.env, PGPASSWORD: '' } }, (err, stdout, stderr) =>
          resolve(err ? `refused:${stderr.trim() || err.message}` : `ok:${stdout.trim()}`),
        );
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('a CN=app certificate from its own client CA logs in', async () => {
    assert.equal(await login(await pki.client(own, APP.name)), 'ok:app');
  });

  it('a CN=app certificate from the shared CA that signs its server certificate is refused', async () => {
    // Refused in the handshake: Pgpool does not know the CA.
    assert.match(await login(await pki.client(pki.caA, APP.name)), /^refused:.*SSL error: tlsv1 alert unknown ca/);
  });

  it("the backend's CA is trusted for clients too (Pgpool-II has one CA file): documented, not closed", async () => {
    assert.equal(await login(await pki.client(pki.caB, APP.name)), 'ok:app');
  });

  it('control: with the issuer CA in ca.pem (KubeDB\'s way) the shared-CA certificate logs in', async () => {
    await pp.installTls(pki.material(pki.caA, server, caBundle(pki.caA.certPem, pki.caB.certPem)));
    await pp.restart();
    assert.equal(await login(await pki.client(pki.caA, APP.name)), 'ok:app');
  });
});
