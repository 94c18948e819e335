// The generated database password: at least 128 bits, every symbol equally
// likely (no modulo bias), from the documented alphabet.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD_ALPHABET, passwordBits, randomPassword } from '../../../src/provisioner/specs/secrets.ts';

describe('randomPassword', () => {
  it('has at least 128 bits and only alphabet symbols', () => {
    const p = randomPassword();
    assert.ok(passwordBits(p.length) >= 128, `${p.length} symbols = ${passwordBits(p.length).toFixed(1)} bits`);
    assert.match(p, new RegExp(`^[${PASSWORD_ALPHABET}]+$`));
    assert.throws(() => randomPassword(16), /fewer than 128/);
  });

  it('draws every symbol uniformly (chi-square over 20000 passwords)', () => {
    const counts = new Map<string, number>([...PASSWORD_ALPHABET].map((c) => [c, 0]));
    let n = 0;
    for (let i = 0; i < 20_000; i++) {
      for (const c of randomPassword()) {
        counts.set(c, counts.get(c)! + 1);
        n++;
      }
    }
    const expected = n / PASSWORD_ALPHABET.length;
    const chi2 = [...counts.values()].reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    // 56 degrees of freedom: P(chi2 > 130) < 1e-7 for a uniform draw; a byte % 57 draw scores in the thousands.
    assert.ok(chi2 < 130, `chi-square ${chi2.toFixed(1)} over ${n} symbols`);
  });

  it('two passwords differ', () => {
    assert.notEqual(randomPassword(), randomPassword());
  });
});
