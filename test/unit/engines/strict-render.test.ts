// Rendered access rules come from strict maps: a value that could come from
// stored state (an ops request's recorded plan, a spec) and is not one of the
// known ones is an error, never written (issue 11 item 2).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderPgHba, primaryConninfo } from '../../../src/engines/postgres/index.ts';
import { renderPgBouncerConfig, renderUserlist, type PgBouncerConfigInput } from '../../../src/engines/pgbouncer/index.ts';
import { renderPgpoolConfig, renderPoolPasswd, type PgpoolConfigInput } from '../../../src/engines/pgpool/index.ts';
import { hbaLine, hbaMethod } from '../../../src/engines/shared/conf.ts';
import type { ClientAuthMode, SslMode } from '../../../src/engines/types.ts';

const listen = { address: '*', port: 5432, socketDir: '/var/run/postgresql' };
const forged = (v: string) => v as unknown as ClientAuthMode;

describe('strict maps for rendered access rules', () => {
  it('hbaMethod maps the three modes and refuses anything else', () => {
    assert.equal(hbaMethod('scram'), 'scram-sha-256');
    assert.equal(hbaMethod('md5'), 'md5');
    assert.equal(hbaMethod('cert'), 'cert');
    for (const bad of ['trust', 'scram\nhost all all 0.0.0.0/0 trust', 'toString', '__proto__', '']) {
      assert.throws(() => hbaMethod(bad), /^Error: clientAuthMode: Unsupported value: .*supported values: "md5", "scram", "cert"$/, bad);
    }
  });

  it('pg_hba: an unknown auth mode or sslMode is an error', () => {
    assert.throws(() => renderPgHba({ sslMode: 'require', clientAuthMode: forged('trust') }), /clientAuthMode: Unsupported value: "trust"/);
    assert.throws(() => renderPgHba({ sslMode: 'require\nhost all all 0.0.0.0/0 trust' as SslMode, clientAuthMode: 'md5' }), /sslMode: Unsupported value/);
  });

  it('pg_hba: a column with whitespace, a newline, a quote or # is an error', () => {
    assert.throws(() => renderPgHba({ sslMode: 'require', clientAuthMode: 'md5', clientCidrs: ['0.0.0.0/0 trust\nhost'] }), /hba address .* is not a single token/);
    assert.throws(() => renderPgHba({ sslMode: 'require', clientAuthMode: 'md5', replicationUser: 'rep #' }), /hba user/);
    assert.throws(() => hbaLine('host', 'all', 'a"b', '::/0', 'md5'), /hba user/);
    assert.throws(() => hbaLine('hostgssenc', 'all', 'all', '::/0', 'md5'), /hba type "hostgssenc": Unsupported value/);
    assert.throws(() => hbaLine('host', 'all', 'all', '::/0', 'ident'), /hba method "ident": Unsupported value/);
  });

  it('standby primary_conninfo: an unknown sslMode is an error', () => {
    assert.throws(
      () => primaryConninfo({ listen, sslMode: 'require sslrootcert=/dev/null' as SslMode, clientAuthMode: 'md5', standby: { primaryHost: 'db', primaryPort: 5432, user: 'postgres', applicationName: 'db-1' } } as never),
      /sslMode: Unsupported value/,
    );
  });

  const bouncer: PgBouncerConfigInput = {
    listen: { ...listen, port: 6432 },
    sslMode: 'require',
    authType: 'md5',
    backend: { host: 'db', port: 5432, sslMode: 'require', databaseName: 'postgres' },
    users: [{ name: 'postgres', password: 'pw' }],
    adminUsers: ['pgbouncer'],
  };

  it('PgBouncer: unknown authType, client or server sslMode, newline in a user or password: errors', () => {
    assert.throws(() => renderPgBouncerConfig({ ...bouncer, authType: forged('trust') }), /clientAuthMode: Unsupported value: "trust"/);
    assert.throws(() => renderPgBouncerConfig({ ...bouncer, sslMode: 'bogus' as SslMode }), /sslMode: Unsupported value: "bogus"/);
    assert.throws(() => renderPgBouncerConfig({ ...bouncer, backend: { ...bouncer.backend, sslMode: 'x\ny' as SslMode } }), /sslMode: Unsupported value/);
    assert.throws(() => renderUserlist([{ name: 'u', password: 'p"\n"admin" "x' }]), /password contains a newline/);
    assert.throws(() => renderPgBouncerConfig({ ...bouncer, adminUsers: ['pgbouncer\nhost'] }), /admin_users contains a newline/);
    assert.throws(() => renderPgBouncerConfig({ ...bouncer, adminUsers: ['pgbouncer all'] }), /hba user "pgbouncer all" is not a single token/);
  });

  const pool: PgpoolConfigInput = {
    listen: { ...listen, port: 9999 },
    pcp: { port: 9595 },
    sslMode: 'require',
    clientAuthMode: 'scram',
    backends: [{ host: 'db', port: 5432 }],
    users: [{ name: 'postgres', password: 'pw' }],
    pcpUsers: [{ name: 'pcp', password: 'pw' }],
  };

  it('Pgpool: unknown clientAuthMode or sslMode, newline in pool_passwd: errors', () => {
    assert.throws(() => renderPgpoolConfig({ ...pool, clientAuthMode: forged('trust') }), /clientAuthMode: Unsupported value: "trust"/);
    assert.throws(() => renderPgpoolConfig({ ...pool, sslMode: 'on\nssl = off' as SslMode }), /sslMode: Unsupported value/);
    assert.throws(() => renderPoolPasswd([{ name: 'u\nadmin', password: 'x' }]), /user contains a newline/);
  });

  it('the known values still render', () => {
    assert.match(renderPgHba({ sslMode: 'verify-full', clientAuthMode: 'cert' }), /^hostssl\s+all\s+all\s+0\.0\.0\.0\/0\s+cert$/m);
    assert.match(renderPgBouncerConfig(bouncer).files.get('hba.conf')!, /^hostssl\s+all\s+all\s+::\/0\s+md5$/m);
    assert.match(renderPgpoolConfig(pool).files.get('pool_hba.conf')!, /^hostssl\s+all\s+all\s+::\/0\s+scram-sha-256$/m);
  });
});

describe('internal TLS links verify the peer (issue 11 item 7)', () => {
  const standby = { primaryHost: 'pg-0.pg-pods.demo.svc', primaryPort: 5432, user: 'postgres', applicationName: 'pg-1' };
  for (const mode of ['allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const) {
    it(`standby → primary with server sslMode ${mode}: sslmode=verify-full with the CA file`, () => {
      const ci = primaryConninfo({ listen, sslMode: mode, clientAuthMode: 'md5', standby } as never);
      assert.match(ci, /(^| )sslmode=verify-full( |$)/);
      assert.match(ci, /sslrootcert=\S+ca\.crt/);
    });
    it(`PgBouncer → backend with backend sslMode ${mode}: server_tls_sslmode = verify-full`, () => {
      const ini = renderPgBouncerConfig({ ...bouncerBase, backend: { ...bouncerBase.backend, sslMode: mode } }).files.get('pgbouncer.ini')!;
      assert.match(ini, /^server_tls_sslmode = verify-full$/m);
      assert.match(ini, /^server_tls_ca_file = \S+/m);
    });
  }
  it('TLS off: plain links, no TLS settings', () => {
    assert.match(primaryConninfo({ listen, sslMode: 'disable', clientAuthMode: 'md5', standby } as never), /sslmode=disable/);
    assert.doesNotMatch(renderPgBouncerConfig({ ...bouncerBase, backend: { ...bouncerBase.backend, sslMode: 'disable' } }).files.get('pgbouncer.ini')!, /server_tls/);
  });
});

const bouncerBase: PgBouncerConfigInput = {
  listen: { ...listen, port: 6432 },
  sslMode: 'require',
  authType: 'md5',
  backend: { host: 'db.demo.svc', port: 5432, sslMode: 'require', databaseName: 'postgres' },
  users: [{ name: 'postgres', password: 'pw' }],
  adminUsers: ['pgbouncer'],
};
