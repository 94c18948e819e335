import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { certSecretName, nameWithSuffix } from '../../../src/api/shared/names.ts';

describe('names', () => {
  it('forms <db>-<alias>-cert and keeps names within 63 characters', () => {
    assert.equal(certSecretName('ha-postgres', 'server'), 'ha-postgres-server-cert');
    const long = 'x'.repeat(70);
    const n = nameWithSuffix(long, 'metrics-exporter-cert');
    assert.equal(n.length, 63);
    assert.ok(n.endsWith('-metrics-exporter-cert'));
  });
});
