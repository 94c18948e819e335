// The operator's bundle keeps client-node's generated API classes out: they
// are ~14 MB of source and 21–48 MiB of RSS when loaded whole (measured).
// A namespace import (`import * as k8s`) anywhere in the operator's modules
// brings them all back; this test says which module did.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Metafile } from 'esbuild';
import { repoRoot } from '../../../src/util/repo.ts';
// @ts-expect-error a plain .mjs script without types
import { operatorBundleOptions } from '../../../scripts/operator-bundle.mjs';

describe('the operator bundle', () => {
  it('leaves out the generated API classes of client-node and the local cluster\'s code', async () => {
    const r = await build({ ...(operatorBundleOptions(repoRoot()) as object), write: false, metafile: true, sourcemap: false, logLevel: 'silent' });
    const meta = r.metafile as Metafile;
    // What esbuild kept: a module it read but tree-shook away entirely has no bytes in the output.
    const out = Object.entries(meta.outputs).find(([f]) => f.endsWith('.js'))![1];
    const inputs = Object.entries(out.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([f]) => f);
    const generatedApis = inputs.filter((f) => /client-node\/dist\/gen\/(types\/|apis\/[A-Z])/.test(f));
    assert.deepEqual(generatedApis, [], 'a namespace import of client-node (or a typed API) reaches the operator');
    const bytes = r.outputFiles!.find((f) => f.path.endsWith('.js'))!.contents.byteLength;
    // ~2.1 MB today; the whole of client-node would be ~15 MB.
    assert.ok(bytes < 4_000_000, `operator bundle is ${bytes} bytes`);
    for (const f of inputs) assert.doesNotMatch(f, /^src\/(local\/controlplane|local\/kubelet|cli\/plugin|install)\//, `${f} is the local cluster's or the plugin's, not the operator's`);
    // The runtime packages load from node_modules as they do in dist/ (pino's transports, pg's native fallback).
    for (const f of inputs) assert.doesNotMatch(f, /node_modules\/(pino|pg|prom-client)\//);
  });
});
