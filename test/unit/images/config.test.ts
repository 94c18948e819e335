// The OCI config of an image: what a runtime reads (User, Env, WorkingDir, Cmd) and the versions
// recorded as labels; overrides for layered images; probe output parsing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { imageRecipes } from '../../../src/images/catalog.ts';
import { configUser, imageConfig, parseProbeVersion, versionsOf } from '../../../src/images/oci-config.ts';
import { applyOverrides, tagKey } from '../../../src/images/derived.ts';
import { umociConfigArgs } from '../../../src/images/export.ts';

const pg18 = imageRecipes().find((r) => r.tags.includes('18.3'))!;
const created = new Date('2026-01-02T03:04:05Z');
const cfg = imageConfig(pg18, { digest: 'd'.repeat(64), ref: 'localhost/pgtls/postgres:18.3', versions: { postgres: '18.3', psql: '18.6', pg_basebackup: '18.6' }, created });

describe('image config', () => {
  it('carries the runtime fields of the recipe and the versions found', () => {
    assert.equal(cfg.config.User, '999:999');
    assert.deepEqual(configUser(cfg), { uid: 999, gid: 999 });
    assert.equal(cfg.config.WorkingDir, '/var/lib/postgresql');
    assert.deepEqual(cfg.config.Cmd, ['postgres']);
    assert.equal(cfg.config.Entrypoint, undefined);
    assert.ok(cfg.config.Env.includes('PG_VERSION=18.3'));
    assert.equal(cfg.config.Env[0], 'PATH=/usr/lib/postgresql/18/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    assert.deepEqual(cfg.config.ExposedPorts, { '5432/tcp': {} });
    assert.deepEqual(versionsOf(cfg), { postgres: '18.3', psql: '18.6', pg_basebackup: '18.6' });
    assert.equal(cfg.config.Labels['org.opencontainers.image.version'], '18.3');
    assert.equal(cfg.config.Labels['io.pgtls.recipe.digest'], 'd'.repeat(64));
    assert.equal(cfg.created, '2026-01-02T03:04:05.000Z');
  });

  it('refuses a config whose env needs a version that was not probed', () => {
    assert.throws(() => imageConfig(pg18, { digest: 'd', ref: 'r', versions: {}, created }), /no version found for postgres \(needed by PG_VERSION\)/);
  });

  it('turns into umoci flags that clear the defaults first', () => {
    const a = umociConfigArgs(cfg);
    assert.deepEqual(a.slice(0, 2), ['--clear=config.env', '--clear=config.entrypoint']);
    assert.ok(a.includes('--config.user=999:999'));
    assert.ok(a.includes('--config.cmd=postgres'));
    assert.ok(a.includes('--config.stopsignal=SIGINT'));
    assert.ok(a.includes('--config.label=io.pgtls.version.postgres=18.3'));
    assert.equal(a.filter((x) => x.startsWith('--config.env=')).length, cfg.config.Env.length);
  });
});

describe('probe output', () => {
  it('takes the version from the output and checks it against the recipe', () => {
    const pg = '\\(PostgreSQL\\) (\\d+(?:\\.\\d+)*)';
    assert.deepEqual(parseProbeVersion('postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n', pg, '15'), { version: '15.18' });
    assert.deepEqual(parseProbeVersion('postgres (PostgreSQL) 18.3\n', pg, '18.3'), { version: '18.3' });
    assert.match((parseProbeVersion('postgres (PostgreSQL) 18.30\n', pg, '18.3') as { error: string }).error, /found version 18.30, the recipe expects 18.3/);
    assert.match((parseProbeVersion('postgres (PostgreSQL) 16.1\n', pg, '15') as { error: string }).error, /expects 15/);
    assert.deepEqual(parseProbeVersion('PgBouncer 1.18.0\nlibevent 2.1.12-stable\n', '^PgBouncer (\\d+(?:\\.\\d+)+)', '1.18.0'), { version: '1.18.0' });
    assert.match((parseProbeVersion('command not found', '^PgBouncer (\\d+)', '1') as { error: string }).error, /no version in output/);
  });
});

describe('layered image config', () => {
  it('replaces env by key, appends new keys, and an entrypoint clears the base cmd', () => {
    const out = applyOverrides(cfg, { env: ['LANG=en_US.UTF-8', 'NODE_ENV=production'], entrypoint: ['node', '/opt/app/main.js'], user: '65534:65534', labels: { a: 'b' } }, { extra: 'x' }, created);
    assert.ok(out.config.Env.includes('LANG=en_US.UTF-8'));
    assert.ok(!out.config.Env.includes('LANG=C.UTF-8'));
    assert.equal(out.config.Env.at(-1), 'NODE_ENV=production');
    assert.deepEqual(out.config.Entrypoint, ['node', '/opt/app/main.js']);
    assert.equal(out.config.Cmd, undefined);
    assert.equal(out.config.User, '65534:65534');
    assert.equal(out.config.Labels.a, 'b');
    assert.equal(out.config.Labels.extra, 'x');
    assert.equal(out.config.Labels['io.pgtls.version.postgres'], '18.3', 'the versions inside are still true');
    assert.equal(out.config.Labels['org.opencontainers.image.title'], undefined, "the base's own description is not");
    assert.equal(out.config.Labels['io.pgtls.recipe.digest'], undefined);
    assert.deepEqual(applyOverrides(cfg, { cmd: ['bash'] }, {}, created).config.Cmd, ['bash']);
    assert.throws(() => applyOverrides(cfg, { user: 'nobody' }, {}, created), /must be numeric uid:gid/);
    assert.throws(() => applyOverrides(cfg, { env: ['NOVALUE'] }, {}, created), /must be KEY=value/);
  });

  it('stores tags in normalized form', () => {
    assert.equal(tagKey('localhost/pgtls/operator:0.1.0'), 'localhost/pgtls/operator:0.1.0');
    assert.equal(tagKey('pgtls-operator'), 'docker.io/library/pgtls-operator:latest');
  });
});
