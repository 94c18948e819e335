// Issue 10 item 4: the database flows on the real kubelet (containerd, runc,
// CNI bridge, kube-proxy, CoreDNS) with the operator installed by the Helm
// chart: the three kinds with TLS and the twelve ReconfigureTLS flows
// (add, rotate, change issuer, remove for Postgres, PgBouncer and Pgpool), with
// pgbench, the Pgpool restart and each pod's certificate proven from the wire.
// They are the same test files as on the node agent, run again here with
// PGTLS_TEST_RUNTIME=kubelet, one child test run per file; every test inside
// must pass. Skipped, with the failing check, where the runtime cannot start.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { preflight } from '../../src/local/kubelet/runtime.ts';
import { repoRoot } from '../../src/util/repo.ts';

const failing = preflight();
const skip = failing.length > 0 ? `the kubelet runtime cannot start on this machine: ${failing.join('; ')}` : false;
if (skip) process.stderr.write(`kubelet-flows.test.ts: SKIP: ${skip}\n`);

const FILES = ['test/e2e/reconfigure-tls-postgres.test.ts', 'test/e2e/reconfigure-tls-poolers.test.ts'];

/** Runs one test file in a child node test runner on the kubelet runtime; its TAP output is kept for the verdict. */
function runOnKubelet(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-timeout=1800000', file], {
      cwd: repoRoot(),
      // Without NODE_TEST_CONTEXT the child is a test run of its own, not a file of this one.
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), PGTLS_TEST_RUNTIME: 'kubelet' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    // The cluster's progress lines, as the other e2e files show them.
    child.stderr.on('data', (b: Buffer) => process.stderr.write(b));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('the database flows on the real kubelet runtime (operator from the Helm chart)', { skip, timeout: 60 * 60_000, concurrency: 1 }, () => {
  for (const file of FILES) {
    it(`${file}: every test passes on --runtime kubelet`, async () => {
      const r = await runOnKubelet(file);
      const passed = r.out.split('\n').filter((l) => /^ {4}ok \d+ - /.test(l));
      const failed = r.out.split('\n').filter((l) => /^ {4}not ok \d+ - /.test(l));
      for (const l of passed) process.stdout.write(`# kubelet runtime: ${l.trim()}\n`);
      const total = /^# tests (\d+)$/m.exec(r.out)?.[1];
      assert.equal(failed.length, 0, `failed on the kubelet runtime:\n${failed.join('\n')}\n${r.out.slice(-4000)}`);
      assert.equal(r.code, 0, r.out.slice(-4000));
      assert.ok(passed.length >= 8 && String(passed.length) === total, `${passed.length} passed of ${total}`);
    });
  }
});
