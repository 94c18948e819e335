#!/usr/bin/env node
// `npm run build`: src/ → dist/ (plain ESM JavaScript, relative `.ts` imports
// rewritten to `.js`), so the operator runs with node alone; and the operator
// bundled (dist/bundle/operator.js). dist/ is emptied first, so a module
// removed from src/ does not linger in it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { operatorBundleOptions } from './operator-bundle.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (r.status !== 0) process.exit(r.status ?? 1);

// The operator alone, bundled (scripts/operator-bundle.mjs says why).
const { build } = await import('esbuild');
await build(operatorBundleOptions(root));
