// connect: the libpq connection string and the psql line, quoted for libpq and the shell.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { commonName, conninfo, conninfoValue, passfileLine, psqlLine, shellQuote, type ConnectPlan } from '../../../src/cli/plugin/connect/psql.ts';

const tlsPlan: ConnectPlan = {
  host: 'ha-postgres.demo.svc', hostaddr: '127.15.0.9', port: 5432, dbname: 'postgres', user: 'postgres', sslmode: 'verify-full',
  sslrootcert: '/tmp/pgtls-connect-ha-postgres-Ab12/ca.crt', sslcert: '/tmp/pgtls-connect-ha-postgres-Ab12/client.crt', sslkey: '/tmp/pgtls-connect-ha-postgres-Ab12/client.key',
};

describe('plugin: psql line', () => {
  it('verify-full with the client certificate: host for the name check, hostaddr to dial', () => {
    assert.equal(
      psqlLine(tlsPlan),
      "psql 'host=ha-postgres.demo.svc hostaddr=127.15.0.9 port=5432 dbname=postgres user=postgres sslmode=verify-full sslrootcert=/tmp/pgtls-connect-ha-postgres-Ab12/ca.crt sslcert=/tmp/pgtls-connect-ha-postgres-Ab12/client.crt sslkey=/tmp/pgtls-connect-ha-postgres-Ab12/client.key'",
    );
  });

  it('without TLS: sslmode=disable, no certificate files, the password in a passfile (never on the line)', () => {
    const line = psqlLine({ ...tlsPlan, sslmode: 'disable', passfile: '/tmp/d/pgpass' }, '/usr/lib/postgresql/15/bin/psql', ['-c', 'select 1']);
    assert.equal(line, "/usr/lib/postgresql/15/bin/psql 'host=ha-postgres.demo.svc hostaddr=127.15.0.9 port=5432 dbname=postgres user=postgres sslmode=disable passfile=/tmp/d/pgpass' -c 'select 1'");
  });

  it('quotes values for libpq and the line for the shell', () => {
    assert.equal(conninfoValue('plain'), 'plain');
    assert.equal(conninfoValue(''), "''");
    assert.equal(conninfoValue("it's a \\ dir"), "'it\\'s a \\\\ dir'");
    assert.equal(conninfo({ ...tlsPlan, dbname: 'my db' }).split(' dbname=')[1]!.slice(0, 7), "'my db'");
    assert.equal(shellQuote("a'b"), `'a'\\''b'`);
    // What the shell hands psql is exactly the connection string.
    const cs = conninfo({ ...tlsPlan, dbname: "o'brien db" });
    const echoed = execFileSync('sh', ['-c', `printf %s ${shellQuote(cs)}`]).toString();
    assert.equal(echoed, cs);
  });

  it('passfile lines escape : and \\ and match any host', () => {
    assert.equal(passfileLine('postgres', 'a:b\\c'), '*:*:*:postgres:a\\:b\\\\c\n');
  });

  it('the certificate login user is the CN', () => {
    assert.equal(commonName('CN=postgres\nO=postgres\nOU=client'), 'postgres');
    assert.equal(commonName('O=x'), undefined);
  });
});
