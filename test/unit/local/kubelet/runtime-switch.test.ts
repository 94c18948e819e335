// A home keeps the runtime it was made with: `up --runtime` on a home of the
// other runtime stops before starting anything, saying what to do.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, readdirSync } from 'node:fs';
import { homeLayout } from '../../../../src/local/home.ts';
import { up } from '../../../../src/local/controlplane/cluster.ts';
import { newClusterConfig, writeClusterConfig } from '../../../../src/local/controlplane/config.ts';
import { loadVersions } from '../../../../src/local/controlplane/versions.ts';
import { tmpDir } from '../../../helpers/tls.ts';

const home = tmpDir('pgtls-runtime-switch-');
after(() => rmSync(home, { recursive: true, force: true }));

describe('up --runtime on an existing home', () => {
  it('refuses to switch runtimes and starts nothing', async () => {
    const layout = homeLayout(home);
    writeClusterConfig(layout.clusterFile, { ...newClusterConfig(loadVersions(), 21890), runtime: 'node-agent' });
    await assert.rejects(up(layout, { runtime: 'kubelet' }), /runs the node-agent runtime; `pgtls down --purge` first to switch to kubelet/);
    assert.deepEqual(readdirSync(home), ['cluster.json']);
  });
});
