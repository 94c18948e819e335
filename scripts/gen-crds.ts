// Writes deploy/crds/*.yaml from the TypeBox schemas in src/api.
// Run: node --import tsx scripts/gen-crds.ts
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/repo.ts';
import { CRD_DIR, renderCrdFiles } from '../src/api/render.ts';

const dir = join(repoRoot(), CRD_DIR);
mkdirSync(dir, { recursive: true });
const files = renderCrdFiles();
// Drop files of kinds that no longer exist, so deploy/ mirrors src/api exactly.
for (const f of readdirSync(dir)) if (f.endsWith('.yaml') && !files.has(f)) rmSync(join(dir, f));
for (const [name, text] of files) writeFileSync(join(dir, name), text);
console.log(`wrote ${files.size} CRDs to ${CRD_DIR}`);
