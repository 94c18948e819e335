// The build lock: one holder at a time, and a holder that dies (even by SIGKILL) frees it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLock, LockTimeoutError, withLock } from '../../../src/images/lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'pgtls-lock-'));

describe('build lock', () => {
  it('lets a second taker in only after the first releases', async () => {
    const file = join(dir, 'a.lock');
    const order: string[] = [];
    const release = await acquireLock(file, { timeoutMs: 10_000 });
    let waited = false;
    const second = withLock(file, { timeoutMs: 10_000, onWait: () => (waited = true) }, async () => {
      order.push('second');
    });
    await new Promise((r) => setTimeout(r, 1500));
    order.push('first done');
    await release();
    await second;
    assert.deepEqual(order, ['first done', 'second']);
    assert.equal(waited, true, 'the waiter was told');
  });

  it('times out with a clear error while another process holds it', async () => {
    const file = join(dir, 'b.lock');
    const release = await acquireLock(file, { timeoutMs: 5_000 });
    await assert.rejects(acquireLock(file, { timeoutMs: 1_000 }), (e: unknown) => e instanceof LockTimeoutError && /timed out after 1 s/.test(e.message));
    await release();
    await (await acquireLock(file, { timeoutMs: 1_000 }))();
  });

  it('is freed when its holder is killed', async () => {
    const file = join(dir, 'c.lock');
    const src = `import { acquireLock } from ${JSON.stringify(fileURLToPath(new URL('../../../src/images/lock.ts', import.meta.url)))};
await acquireLock(${JSON.stringify(file)}, { timeoutMs: 5000 }); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('holder did not start')), 20_000);
      child.stdout.on('data', (b: Buffer) => b.toString().includes('held') && (clearTimeout(t), resolve()));
    });
    await assert.rejects(acquireLock(file, { timeoutMs: 1_000 }), LockTimeoutError);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const release = await acquireLock(file, { timeoutMs: 10_000 });
    await release();
  });
});
