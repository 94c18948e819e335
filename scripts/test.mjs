#!/usr/bin/env node
// Runs node's built-in test runner over test/**/*.test.ts (Node 20's --test
// takes no glob), unit tests first, one file at a time: e2e files each start
// a real cluster and the machine has two cores.
// Arguments narrow the run: `npm test -- e2e/local` runs files whose path contains it.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
const filters = process.argv.slice(2);
const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort((a, b) => Number(a.startsWith('test/e2e')) - Number(b.startsWith('test/e2e')) || a.localeCompare(b));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=1800000', ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(r.status ?? 1);
