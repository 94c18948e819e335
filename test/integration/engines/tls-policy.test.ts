// Every server's default TLS policy, read from the wire: PostgreSQL 15 and 18,
// PgBouncer and Pgpool-II with the configuration pgtls renders refuse TLS 1.1
// and TLS 1.2 CBC/SHA-1 suites, and accept TLS 1.2 AEAD and TLS 1.3. A control
// server that allows TLS 1.1 proves the client really offers it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { PgInstance, pgAvailable, type PgVersion } from './harness/postgres.ts';
import { PgBouncerInstance, PGBOUNCER_BIN, ADMIN } from './harness/pgbouncer.ts';
import { PgpoolInstance, PGPOOL_BIN } from './harness/pgpool.ts';
import { testPki, type TestPki } from './harness/pki.ts';
import { probeTls, type ProbeOptions, type ProbeResult } from '../../../src/engines/shared/probe.ts';
import { TLS12_CIPHERS } from '../../../src/engines/shared/tls-policy.ts';

/** OpenSSL 3 refuses TLS < 1.2 below security level 0, on the client side too. */
const TLS11: ProbeOptions['offer'] = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' };
const TLS12_CBC: ProbeOptions['offer'] = { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA' };
const TLS12: ProbeOptions['offer'] = { maxVersion: 'TLSv1.2' };

const probe = (port: number, offer: ProbeOptions['offer']) => probeTls({ host: '127.0.0.1', port }, { offer, timeoutMs: 5000 });
const refused = (r: ProbeResult) => r.kind === 'error' && r.error.startsWith('tls:');

/** What every server must do with the four offers. */
async function assertPolicy(port: number): Promise<void> {
  const old = await probe(port, TLS11);
  assert.ok(refused(old), `TLS 1.1 must be refused: ${JSON.stringify(old)}`);
  const cbc = await probe(port, TLS12_CBC);
  assert.ok(refused(cbc), `TLS 1.2 with CBC/SHA-1 suites must be refused: ${JSON.stringify(cbc)}`);
  const ok12 = await probe(port, TLS12);
  assert.equal(ok12.kind, 'tls', JSON.stringify(ok12));
  assert.equal(ok12.kind === 'tls' && ok12.protocol, 'TLSv1.2');
  assert.ok(ok12.kind === 'tls' && TLS12_CIPHERS.split(':').includes(ok12.cipher!), `an AEAD suite: ${ok12.kind === 'tls' && ok12.cipher}`);
  const ok13 = await probe(port, undefined);
  assert.equal(ok13.kind === 'tls' && ok13.protocol, 'TLSv1.3');
}

describe('TLS policy on the wire', () => {
  let pki: TestPki;
  before(async () => {
    pki = await testPki();
  });

  it('control: a server that allows TLS 1.1 and CBC negotiates both with these offers', async () => {
    const leaf = await pki.server(pki.caA);
    const srv = net.createServer((sock) => {
      sock.once('data', () => {
        sock.write('S');
        const t = new tls.TLSSocket(sock, { isServer: true, key: leaf.keyPem, cert: leaf.certPem, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
        t.on('error', () => undefined);
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      const old = await probe(port, TLS11);
      assert.equal(old.kind === 'tls' && old.protocol, 'TLSv1.1', JSON.stringify(old));
      const cbc = await probe(port, TLS12_CBC);
      assert.equal(cbc.kind === 'tls' && cbc.protocol, 'TLSv1.2', JSON.stringify(cbc));
      assert.match(cbc.kind === 'tls' ? cbc.cipher! : '', /SHA$/);
    } finally {
      srv.close();
    }
  });

  for (const version of ['15', '18'] as PgVersion[]) {
    describe(`PostgreSQL ${version}`, { skip: !pgAvailable(version) && `PostgreSQL ${version} binaries not installed` }, () => {
      let db: PgInstance;
      before(async () => {
        db = await PgInstance.create(version, { sslMode: 'require', clientAuthMode: 'scram', tls: pki.material(pki.caA, await pki.server(pki.caA)) });
      });
      after(async () => {
        await db?.destroy();
      });
      it('refuses TLS 1.1 and CBC suites, serves TLS 1.2 AEAD and TLS 1.3', async () => {
        await assertPolicy(db.port);
      });
    });
  }

  describe('PgBouncer', { skip: !(existsSync(PGBOUNCER_BIN) && pgAvailable('15')) && 'pgbouncer or PostgreSQL 15 not installed' }, () => {
    let db: PgInstance;
    let pgb: PgBouncerInstance;
    before(async () => {
      db = await PgInstance.create('15', { sslMode: 'require', clientAuthMode: 'scram', tls: pki.material(pki.caB, await pki.server(pki.caB)) });
      pgb = await PgBouncerInstance.create(
        (base) => ({ ...base, sslMode: 'require', authType: 'scram', backend: { host: '127.0.0.1', port: db.port, sslMode: 'verify-full', databaseName: 'postgres' }, users: [ADMIN] }),
        // ECDSA here, RSA for PostgreSQL: both key types are covered by the suite list.
        { serving: pki.material(pki.caB, await pki.server(pki.caB)), backendCa: pki.caB.certPem },
      );
    });
    after(async () => {
      await pgb?.destroy();
      await db?.destroy();
    });
    it('refuses TLS 1.1 and CBC suites, serves TLS 1.2 AEAD and TLS 1.3', async () => {
      await assertPolicy(pgb.port);
    });
  });

  describe('Pgpool-II', { skip: !(existsSync(PGPOOL_BIN) && pgAvailable('15')) && 'pgpool2 or PostgreSQL 15 not installed' }, () => {
    let db: PgInstance;
    let pp: PgpoolInstance;
    before(async () => {
      db = await PgInstance.create('15', { sslMode: 'require', clientAuthMode: 'scram', tls: pki.material(pki.caA, await pki.server(pki.caA)) });
      pp = await PgpoolInstance.create(
        (base) => ({ ...base, sslMode: 'require', clientAuthMode: 'scram', backends: [{ host: '127.0.0.1', port: db.port }], users: [], pcpUsers: [{ name: 'pcpadmin', password: 'pcp-pw-not-logged' }] }),
        pki.material(pki.caA, await pki.server(pki.caA)),
      );
    });
    after(async () => {
      await pp?.destroy();
      await db?.destroy();
    });
    it('refuses TLS 1.1 and CBC suites (no minimum-version setting: the suite list does it), serves TLS 1.2 AEAD and TLS 1.3', async () => {
      await assertPolicy(pp.port);
    });
  });
});
