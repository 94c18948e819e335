// `pgtls images`: the table shows name, other tags, versions inside, digest, size, built or not.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { imagesTable } from '../../../src/cli/images.ts';

describe('pgtls images table', () => {
  it('shows measured versions for built images and the promised ones otherwise', () => {
    const out = imagesTable([
      { ref: 'localhost/pgtls/postgres:15-bookworm', repository: 'localhost/pgtls/postgres', tags: ['15-bookworm', '15'], description: '', digest: 'a'.repeat(64), built: true, sizeBytes: 400 * 2 ** 20, versions: { postgres: '15.18', psql: '15.18' }, builtAt: '2026-11-29T18:00:00Z' },
      { ref: 'localhost/pgtls/pgpool:4.3.5-bookworm', repository: 'localhost/pgtls/pgpool', tags: ['4.3.5-bookworm', '4.3.5'], description: '', digest: 'b'.repeat(64), built: false },
    ]);
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0]!, /^IMAGE\s+ALSO\s+VERSIONS INSIDE\s+DIGEST\s+SIZE\s+BUILT$/);
    assert.match(lines[1]!, /^localhost\/pgtls\/postgres:15-bookworm\s+:15\s+postgres 15\.18, psql 15\.18\s+aaaaaaaaaaaa\s+400 MiB\s+yes 2026-11-29$/);
    assert.match(lines[2]!, /^localhost\/pgtls\/pgpool:4\.3\.5-bookworm\s+:4\.3\.5\s+pgpool 4\.3\.5, psql 15\s+bbbbbbbbbbbb\s+-\s+no$/);
  });
});
