// Image references: normalization as runtimes do it, exact tag matching, and errors that name what exists.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { familiarRef, matchRef, normalizedRef, parseRef, InvalidRefError, UnknownImageError, type RefCandidate } from '../../../src/images/refs.ts';

describe('parseRef', () => {
  it('normalizes like the Docker reference library', () => {
    assert.deepEqual(parseRef('postgres'), { domain: 'docker.io', path: 'library/postgres', tag: 'latest' });
    assert.deepEqual(parseRef('postgres:15'), { domain: 'docker.io', path: 'library/postgres', tag: '15' });
    assert.deepEqual(parseRef('bitnami/pgbouncer:1.18.0'), { domain: 'docker.io', path: 'bitnami/pgbouncer', tag: '1.18.0' });
    assert.deepEqual(parseRef('localhost/pgtls/postgres:18.3'), { domain: 'localhost', path: 'pgtls/postgres', tag: '18.3' });
    assert.deepEqual(parseRef('localhost:5000/pgtls/postgres'), { domain: 'localhost:5000', path: 'pgtls/postgres', tag: 'latest' });
    assert.deepEqual(parseRef('ghcr.io/appscode-images/postgres:15.18-bookworm'), { domain: 'ghcr.io', path: 'appscode-images/postgres', tag: '15.18-bookworm' });
    assert.equal(normalizedRef(parseRef('index.docker.io/library/debian:bookworm')), 'docker.io/library/debian:bookworm');
    assert.equal(familiarRef(parseRef('docker.io/library/debian:bookworm')), 'debian:bookworm');
    const d = parseRef(`localhost/pgtls/postgres:15@sha256:${'a'.repeat(64)}`);
    assert.equal(d.digest, `sha256:${'a'.repeat(64)}`);
  });

  it('rejects malformed references with the reason', () => {
    assert.throws(() => parseRef(''), InvalidRefError);
    assert.throws(() => parseRef('Postgres:15'), /invalid repository name/);
    assert.throws(() => parseRef('postgres:bad tag'), /invalid tag/);
    assert.throws(() => parseRef('postgres@sha256:xyz'), /invalid digest/);
  });
});

describe('matchRef', () => {
  const cands: RefCandidate<string>[] = [
    { repository: 'localhost/pgtls/postgres', tags: ['15-bookworm', '15'], value: 'pg15' },
    { repository: 'localhost/pgtls/postgres', tags: ['18.3-sid', '18.3'], value: 'pg18' },
    { repository: 'localhost/pgtls/debian', tags: ['bookworm'], value: 'debian' },
  ];

  it('matches repository and tag exactly, keeping the tag asked for', () => {
    assert.deepEqual(matchRef('localhost/pgtls/postgres:15', cands), { ref: 'localhost/pgtls/postgres:15', tag: '15', value: 'pg15' });
    assert.equal(matchRef('localhost/pgtls/postgres:18.3-sid', cands).value, 'pg18');
    assert.equal(matchRef(' localhost/pgtls/debian:bookworm ', cands).value, 'debian');
  });

  it('never substitutes another version, and lists the tags that exist', () => {
    for (const bad of ['localhost/pgtls/postgres:18', 'localhost/pgtls/postgres:15.18', 'localhost/pgtls/postgres:18.3.0', 'localhost/pgtls/postgres']) {
      assert.throws(
        () => matchRef(bad, cands),
        (e: unknown) => e instanceof UnknownImageError && /no tag/.test(e.message) && /15-bookworm, 15, 18.3-sid, 18.3/.test(e.message) && e.known.length === 3,
        bad,
      );
    }
  });

  it('tells a Docker Hub name from ours, and says which was meant', () => {
    assert.throws(() => matchRef('postgres:15', cands), /docker.io\/library\/postgres is not localhost\/pgtls\/postgres \(did you mean localhost\/pgtls\/postgres:15\?\)/);
    assert.throws(() => matchRef('pgtls/postgres:15', cands), /did you mean localhost\/pgtls\/postgres:15/);
    assert.throws(() => matchRef('mysql:8', cands), (e: unknown) => e instanceof UnknownImageError && /Known images: localhost\/pgtls\/postgres:15-bookworm\|15/.test(e.message));
  });

  it('refuses digest references: our digests name recipes, not manifests', () => {
    assert.throws(() => matchRef(`localhost/pgtls/postgres:15@sha256:${'b'.repeat(64)}`, cands), /digest references are not supported/);
  });
});
