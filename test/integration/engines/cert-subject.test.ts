// Certificate authentication maps the whole subject, not the CN alone: with
// the marker of the database (certs/policy.ts) in pg_ident.conf, a client
// certificate from the same CA with the same CN but minted for another
// database is refused. The control (no marker, PostgreSQL's default CN
// mapping) shows that very certificate logging in.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgInstance, pgAvailable, type PgVersion } from './harness/postgres.ts';
import { testPki, type TestPki } from './harness/pki.ts';
import { issueLeaf, type KeyPairPem } from '../../../src/certs/issue.ts';
import { databaseMarker } from '../../../src/certs/policy.ts';
import { reloadPostgres } from './harness/process/postgres-reload.ts';

const MINE = databaseMarker('team-b', 'prod');

for (const version of ['15', '18'] as PgVersion[]) {
  describe(`PostgreSQL ${version}: client certificates of one database only`, { skip: !pgAvailable(version) && `PostgreSQL ${version} binaries not installed` }, () => {
    let pki: TestPki;
    let pgi: PgInstance;
    const client = (units: string[], cn = 'postgres'): Promise<KeyPairPem> => issueLeaf(pki.caA, { commonName: cn, organizationalUnits: units, usage: 'client', algorithm: pki.caA.algorithm });
    const login = async (leaf: KeyPairPem, user = 'postgres') => {
      const c = new pg.Client({
        host: '127.0.0.1',
        port: pgi.port,
        user,
        database: 'postgres',
        ssl: { ca: pki.caA.certPem, servername: 'localhost', cert: leaf.certPem, key: leaf.keyPem },
        connectionTimeoutMillis: 3000,
      });
      c.on('error', () => undefined);
      await c.connect();
      try {
        return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
      } finally {
        await c.end();
      }
    };
    const refused = /certificate authentication failed|no pg_hba|does not match/i;

    before(async () => {
      pki = await testPki();
      pgi = await PgInstance.create(version, { sslMode: 'verify-full', clientAuthMode: 'cert', tls: pki.material(pki.caA, await pki.server(pki.caA)) });
    });
    after(async () => {
      await pgi?.destroy();
    });

    it('control: without the marker map, a certificate minted for another database logs in (CN only)', async () => {
      assert.equal(await login(await client([databaseMarker('team-a', 'prod')])), 'postgres');
    });

    it('with the marker map: only this database certificates log in, as their CN', async () => {
      await pgi.writeConfig(pgi.with({ certMarker: MINE }));
      await reloadPostgres(pgi.target());
      assert.equal(await login(await client([MINE])), 'postgres');
      // The marker among other units, in any position.
      assert.equal(await login(await client(['client', MINE, 'x'])), 'postgres');
      // Another database's marker, a marker that merely starts with ours, no marker, ours inside a longer value.
      await assert.rejects(login(await client([databaseMarker('team-a', 'prod')])), refused);
      await assert.rejects(login(await client([`${MINE}-x`])), refused);
      await assert.rejects(login(await client(['client'])), refused);
      await assert.rejects(login(await client([`x${MINE}`])), refused);
      // The CN still decides the user: a certificate for "app" cannot log in as postgres.
      await assert.rejects(login(await client([MINE], 'app')), refused);
    });
  });
}
