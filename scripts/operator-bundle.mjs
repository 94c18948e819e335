// esbuild's options for the operator's bundle (dist/bundle/operator.js), used
// by `npm run build` and by the test that keeps the bundle small.
//
// esbuild keeps only the parts of a package the operator reaches.
// @kubernetes/client-node loads all its ~14 MB of generated API classes when
// imported whole (21–48 MiB of RSS for the life of the process, measured); the
// operator calls a few of them, imported by name (src/kube/client.ts). The
// other packages, some of which load files or workers of their own, stay
// external: loaded from node_modules as dist/ loads them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** @param {string} root the repository (or staged app) root */
export function operatorBundleOptions(root) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return {
    entryPoints: [join(root, 'src', 'cli', 'operator-main.ts')],
    outfile: join(root, 'dist', 'bundle', 'operator.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: Object.keys(pkg.dependencies).filter((d) => d !== '@kubernetes/client-node'),
    // client-node's CommonJS dependencies call require() for Node's builtins.
    banner: { js: "import { createRequire as __pgtlsCreateRequire } from 'node:module'; const require = __pgtlsCreateRequire(import.meta.url);" },
    sourcemap: true,
    logLevel: 'warning',
  };
}
