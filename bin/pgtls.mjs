#!/usr/bin/env node
// The pgtls command line. In a checkout (src/ and the dev dependency tsx present)
// it runs the TypeScript sources through tsx's loader, so no build step is
// needed; where only the compiled dist/ and the runtime dependencies exist
// (`npm run build`, `npm ci --omit=dev`, the operator image) it runs dist/,
// and for `pgtls operator` the operator's bundle there.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
let tsx;
if (existsSync(here('../src/cli/main.ts')) && process.env.PGTLS_RUN_DIST !== '1') {
  tsx = await import('tsx/esm/api').catch(() => undefined);
}
if (tsx) {
  tsx.register();
  await import('../src/cli/main.ts');
} else if (process.argv[2] === 'operator' && existsSync(here('../dist/bundle/operator.js'))) {
  // The operator bundled, as its image runs it (npm run build).
  await import('../dist/bundle/operator.js');
} else if (existsSync(here('../dist/cli/main.js'))) {
  await import('../dist/cli/main.js');
} else {
  process.stderr.write('pgtls: neither the TypeScript loader (npm ci) nor the compiled dist/ (npm run build) is available\n');
  process.exit(1);
}
