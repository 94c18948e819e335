// Secrets stay out of log lines: the real pino logger writing to a stream,
// every secret key name at every depth, PEM blocks and passwords inside
// strings, errors, child bindings; what is not secret stays readable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/observability/logger.ts';
import { isSecretKey, redact, redactString } from '../../../src/observability/redact.ts';

const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRET0\n-----END PRIVATE KEY-----';
const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUSECRET1\n-----END CERTIFICATE-----';
const SECRET = 'hunter2-SECRET';

/** A logger writing into an array of parsed JSON lines (the real pino pipeline). */
function capture(): { log: ReturnType<typeof createLogger>; lines: () => string } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { log: createLogger('test', 'debug', stream), lines: () => out.join('') };
}

/** Nests `leaf` `depth` levels deep. */
const deep = (depth: number, leaf: object): object => (depth === 0 ? leaf : { level: deep(depth - 1, leaf) });

describe('log redaction', () => {
  const KEYS = ['password', 'server.key', 'client.key', 'tls.key', 'exporter.key', 'ca.key', 'privateKey', 'key', 'pgpass', '.pgpass', 'userlist.txt', 'pool_passwd', 'pcp.conf',
    'POSTGRES_PASSWORD', 'PGPASSWORD', 'client-key-data', 'token', 'data', 'stringData', 'replicationPassword'];

  for (const k of KEYS) {
    it(`redacts "${k}" at depth 0, 3 and 7`, () => {
      const c = capture();
      for (const d of [0, 3, 7]) c.log.info(deep(d, { [k]: SECRET, db: 'team-a/pg' }) as Record<string, unknown>, 'msg');
      const text = c.lines();
      assert.ok(!text.includes(SECRET), `leaked through "${k}": ${text}`);
      assert.equal(text.match(/team-a\/pg/g)?.length, 3, 'what is not secret stays');
    });
  }

  it('a Secret object logged whole: data and stringData are gone, its name stays', () => {
    const c = capture();
    c.log.warn({ secret: { metadata: { name: 'pg-auth' }, data: { password: Buffer.from(SECRET).toString('base64') }, stringData: { password: SECRET } } }, 'applied');
    assert.ok(!c.lines().includes(SECRET) && !c.lines().includes(Buffer.from(SECRET).toString('base64')));
    assert.match(c.lines(), /pg-auth/);
  });

  it('PEM blocks inside strings: in the message, in nested values, in arrays, in interpolation', () => {
    const c = capture();
    c.log.info(`bad file ${PEM_KEY} here`);
    c.log.info({ files: [{ name: 'x', content: `a\n${PEM_KEY}\n${PEM_CERT}` }] }, 'render');
    c.log.info('got %s', PEM_KEY);
    c.log.info({ truncated: PEM_KEY.slice(0, 60) }, 'cut');
    const text = c.lines();
    assert.ok(!/SECRET0|SECRET1/.test(text), text);
    assert.match(text, /\[redacted PEM PRIVATE KEY\]/);
    assert.match(text, /\[redacted PEM CERTIFICATE\]/);
  });

  it('errors: message, stack and cause are redacted, first-argument errors keep pino\'s err shape', () => {
    const c = capture();
    const err = new Error(`connect failed: password=${SECRET} host=x`, { cause: new Error(`key ${PEM_KEY}`) });
    c.log.error(err);
    c.log.error({ err }, 'wrapped');
    const text = c.lines();
    assert.ok(!text.includes(SECRET) && !text.includes('SECRET0'), text);
    const first = JSON.parse(text.split('\n')[0]!) as { err: { message: string }; msg: string };
    assert.match(first.err.message, /password=\[redacted\] host=x/);
    assert.ok(first.err.message.startsWith(first.msg), 'msg is the error message');
  });

  it('child bindings are redacted too', () => {
    const c = capture();
    c.log.child({ component: 'x', auth: { password: SECRET } }).info('hi');
    c.log.child({ a: 1 }).child({ b: { 'server.key': SECRET } }).info('grandchild');
    assert.ok(!c.lines().includes(SECRET));
    assert.match(c.lines(), /"component":"x"/);
    assert.match(c.lines(), /"a":1,"b":\{"server.key":"\[redacted\]"\},"msg":"grandchild"/, 'a grandchild keeps its parent\'s bindings');
  });

  it('strings: conninfo and URL passwords, SCRAM and md5 verifiers, pool_passwd TEXT lines', () => {
    assert.equal(redactString(`host=a password='${SECRET} x' sslmode=verify-full`), 'host=a password=[redacted] sslmode=verify-full');
    assert.equal(redactString(`postgres://app:${SECRET}@pg.ns.svc:5432/db`), 'postgres://app:[redacted]@pg.ns.svc:5432/db');
    assert.equal(redactString('https://127.0.0.1:6443/api'), 'https://127.0.0.1:6443/api');
    assert.equal(redactString('"u" "SCRAM-SHA-256$4096:c2FsdA==$abc:def"'), '"u" "SCRAM-SHA-256$[redacted]"');
    assert.equal(redactString('"u" "md5' + 'a'.repeat(32) + '"'), '"u" "md5[redacted]"');
    assert.equal(redactString(`postgres:TEXT${SECRET}`), 'postgres:TEXT[redacted]');
  });

  it('key names: secret ones and ordinary ones', () => {
    for (const k of ['password', 'Password', 'adminPassword', 'server.key', 'client-key', 'api_key', 'privateKey', 'client-key-data', 'token', 'userlist.txt', 'pool_passwd', 'POSTGRES_PASSWORD'])
      assert.equal(isSecretKey(k), true, k);
    for (const k of ['db', 'name', 'secretName', 'object', 'keyFile', 'monkey', 'namespace', 'issuer', 'certificate', 'authSecret'])
      assert.equal(isSecretKey(k), false, k);
  });

  it('does not change the logged object, survives cycles and very deep values', () => {
    const o: Record<string, unknown> = { password: SECRET, db: 'x' };
    o.self = o;
    const r = redact(o) as Record<string, unknown>;
    assert.equal(o.password, SECRET, 'input untouched');
    assert.equal(r.password, '[redacted]');
    assert.equal(r.self, '[circular]');
    const c = capture();
    c.log.info(deep(60, { password: SECRET }) as Record<string, unknown>, 'deep');
    assert.ok(!c.lines().includes(SECRET));
  });
});
