import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forbidden, formatFieldError, formatInvalid, invalid, notFound, required, unsupported } from '../../../src/webhook/field-error.ts';
import { diff } from '../../../src/webhook/json-patch.ts';

describe('field errors in Kubernetes wording', () => {
  it('renders each type as field.Error does', () => {
    assert.equal(formatFieldError(unsupported('spec.sslMode', 'disabled', ['disable', 'allow'])), 'spec.sslMode: Unsupported value: "disabled": supported values: "disable", "allow"');
    assert.equal(formatFieldError(required('spec.tls', 'why')), 'spec.tls: Required value: why');
    assert.equal(formatFieldError(invalid('spec.replicas', 10, 'must be between 1 and 9')), 'spec.replicas: Invalid value: 10: must be between 1 and 9');
    assert.equal(formatFieldError(forbidden('spec', 'nope')), 'spec: Forbidden: nope');
    assert.equal(formatFieldError(notFound('spec.x', 'a/b')), 'spec.x: Not found: "a/b"');
    assert.equal(formatInvalid('Postgres.kubedb.com', 'pg', [required('a'), required('b')]), 'Postgres.kubedb.com "pg" is invalid: [a: Required value, b: Required value]');
  });
});

describe('JSON patch diff', () => {
  it('adds, replaces, removes and escapes keys; arrays are replaced whole', () => {
    const ops = diff({ a: 1, b: { c: [1] }, 'x/y': 1, gone: true }, { a: 2, b: { c: [1, 2], d: 'n' }, 'x/y': 2 });
    assert.deepEqual(ops, [
      { op: 'remove', path: '/gone' },
      { op: 'replace', path: '/a', value: 2 },
      { op: 'replace', path: '/b/c', value: [1, 2] },
      { op: 'add', path: '/b/d', value: 'n' },
      { op: 'replace', path: '/x~1y', value: 2 },
    ]);
    assert.deepEqual(diff({ a: [1] }, { a: [1] }), []);
  });
});
