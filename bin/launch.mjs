// How bin/pgtls and bin/kubectl-pgtls start the TypeScript CLI. Through tsx's
// loader every import (some 700 files of @kubernetes/client-node) passes its
// hooks: ~3.5 s of CPU before anything runs. For the short-lived plugin commands
// the sources are bundled once with esbuild (tsx's own dependency) into
// .cache/cli/main-<hash>.mjs, packages left external, and run by plain node
// (~1.3 s); the hash covers every file under src/, so an edit rebuilds it. The
// bundle sits two directories below the repository root on purpose:
// src/util/repo.ts finds the root as ../.. from its own module URL.
// PGTLS_NO_BUNDLE=1, or any failure to bundle, runs through tsx as before.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function sourceHash() {
  const h = createHash('sha256');
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        h.update(`${p}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  walk(join(root, 'src'));
  h.update(statSync(join(root, 'package-lock.json'), { throwIfNoEntry: false })?.mtimeMs?.toString() ?? '');
  return h.digest('hex').slice(0, 16);
}

async function bundle() {
  const dir = join(root, '.cache', 'cli');
  const out = join(dir, `main-${sourceHash()}.mjs`);
  if (existsSync(out)) return out;
  const { build } = await import('esbuild');
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await build({ entryPoints: [join(root, 'src', 'cli', 'main.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: tmp, logLevel: 'silent' });
  renameSync(tmp, out); // atomic: a concurrent run sees the whole file or none
  for (const f of readdirSync(dir)) if (f.startsWith('main-') && join(dir, f) !== out && !f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
  return out;
}

/** Runs the CLI; `fast` allows the bundle (plugin commands), otherwise tsx. */
export async function runCli(fast) {
  if (fast && process.env.PGTLS_NO_BUNDLE !== '1') {
    let file;
    try {
      file = await bundle();
    } catch {
      file = undefined; // no esbuild, read-only checkout, …: tsx still works
    }
    if (file) {
      await import(pathToFileURL(file).href);
      return;
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
