// How each engine takes a TLS change: decided from the measured behaviour in the engine notes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pgbouncerEngine, pgpoolEngine, postgresEngine, type Engine, type EngineKind } from '../../../src/engines/index.ts';
import type { TlsState } from '../../../src/engines/types.ts';
import { KINDS } from '../../../src/kinds/index.ts';

const ENGINES: Record<EngineKind, Engine> = { Postgres: postgresEngine, PgBouncer: pgbouncerEngine, Pgpool: pgpoolEngine };
const getEngine = (k: EngineKind) => ENGINES[k];

const base: TlsState = { sslMode: 'verify-full', clientAuthMode: 'scram', certFingerprint: 'c1', caFingerprints: ['a'], listen: { address: '*', port: 5432 } };
const cases: [string, Partial<TlsState>][] = [
  ['cert rotation', { certFingerprint: 'c2' }],
  ['CA switch', { caFingerprints: ['b'], certFingerprint: 'c2' }],
  ['CA bundle (add a CA only)', { caFingerprints: ['a', 'b'] }],
  ['TLS off', { sslMode: 'disable', certFingerprint: undefined }],
  ['sslMode require → verify-full', { sslMode: 'require' }],
  ['client auth md5 → cert', { clientAuthMode: 'cert' }],
];

describe('tlsApplyMode', () => {
  it('every kind names its engine, and the way an ops request takes a change agrees with applyMode for a new certificate', () => {
    assert.deepEqual(KINDS.map((k) => k.engine.kind), KINDS.map((k) => k.info.kind));
    for (const k of KINDS) {
      assert.equal(k.engine.applyMode(base, { ...base, certFingerprint: 'c2' }).mode, k.engine.tlsChange, k.info.kind);
      assert.equal(k.engine.tlsChange === 'reload', k.engine.reloadCommand.length > 0, `${k.info.kind}: a reload needs a command`);
    }
  });

  for (const kind of ['Postgres', 'PgBouncer'] as const) {
    it(`${kind}: every TLS change is a reload; no change is none; a new port is a restart`, () => {
      const e = getEngine(kind);
      for (const [what, change] of cases) assert.equal(e.applyMode(base, { ...base, ...change }).mode, 'reload', what);
      assert.equal(e.applyMode(base, { ...base }).mode, 'none');
      assert.equal(e.applyMode(base, { ...base, listen: { address: '*', port: 5433 } }).mode, 'restart');
    });
  }

  it('Pgpool 4.3: cert, frontend CA and ssl on/off restart; hba changes reload; backend CA content needs nothing', () => {
    const e = getEngine('Pgpool');
    const mode = (change: Partial<TlsState>, from: TlsState = base) => e.applyMode(from, { ...from, ...change }).mode;
    assert.equal(mode({ certFingerprint: 'c2' }), 'restart');
    assert.equal(mode({ sslMode: 'disable', certFingerprint: undefined }), 'restart');
    assert.equal(mode({ sslMode: 'verify-full' }, { ...base, sslMode: 'disable' }), 'restart');
    assert.equal(mode({ caFingerprints: ['a', 'b'] }), 'none', 'scram clients: the CA only verifies the backend, re-read per connection');
    assert.equal(mode({ caFingerprints: ['a', 'b'] }, { ...base, clientAuthMode: 'cert' }), 'restart', 'cert clients: frontend CA is loaded at start');
    assert.equal(mode({ sslMode: 'require' }), 'reload');
    assert.equal(mode({ clientAuthMode: 'md5' }), 'reload');
    assert.equal(mode({}), 'none');
    assert.match(e.applyMode(base, { ...base, certFingerprint: 'c2' }).reason, /ssl_cert/);
  });
});
