// scripts/setup.mjs: its progress line, and that a failed step says how to retry it alone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');
// @ts-expect-error: a plain .mjs script, no types
const setup = (await import('../../../scripts/setup.mjs')) as { fmtDuration(ms: number): string; progressLine(s: object, now?: number): string };

describe('setup script', () => {
  it('formats durations and the running step against its estimate', () => {
    assert.equal(setup.fmtDuration(800), '0.8s');
    assert.equal(setup.fmtDuration(42_000), '42s');
    assert.equal(setup.fmtDuration(191_000), '3m11s');
    const s = { id: 'go:kube-apiserver', title: 'building kube-apiserver 1.34.4', start: 0, note: 'downloading modules (12)', estimateMs: 200_000, estimateSource: 'last run' };
    assert.equal(setup.progressLine(s, 50_000), 'go:kube-apiserver  building kube-apiserver 1.34.4  50s of ~3m20s [#####...............] 25%  · downloading modules (12)');
    assert.equal(setup.progressLine({ ...s, note: '' }, 250_000), 'go:kube-apiserver  building kube-apiserver 1.34.4  4m10s (longer than the ~3m20s last run)');
  });

  it('a failed step prints its output and the command that retries it alone; no TTY means plain lines', () => {
    // An empty binary cache and no Go on PATH: the Go step fails before building anything.
    const cache = mkdtempSync(join(tmpdir(), 'pgtls-setup-test-'));
    try {
      const r = spawnSync(process.execPath, ['scripts/setup.mjs', '--only', 'go'], {
        cwd: root,
        env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME, PGTLS_BIN_CACHE: cache, CI: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /setup: \[go\] FAILED in/);
      assert.match(r.stderr, /\| build-binaries: 'go' is not on PATH; install Go >= 1\.24/);
      assert.match(r.stderr, /setup: retry this step alone with: node scripts\/setup\.mjs --only go\n/);
      assert.ok(!r.stderr.includes("\x1b["), "no cursor movement without a terminal");
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('refuses an unknown argument and names the steps', () => {
    const r = spawnSync(process.execPath, ['scripts/setup.mjs', '--only'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--only needs a step: npm, pg18-tools, apt, go or go:<binary>/);
  });
});
