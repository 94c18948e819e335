// Runs the benchmarks named on the command line (default: the quick ones).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../src/util/repo.ts';

const all = ['control-plane', 'cold-build', 'engine-tls', 'node-agent', 'reconfigure-tls', 'provisioner', 'net-gateway', 'kubelet-runtime', 'images', 'up-repeat', 'scale', 'operator-start'];
const quick = ['control-plane', 'engine-tls'];
const names = process.argv.slice(2).length ? process.argv.slice(2) : quick;
for (const n of names) {
  if (!all.includes(n)) throw new Error(`unknown benchmark ${n}; known: ${all.join(', ')}`);
  const r = spawnSync('node', ['--import', 'tsx', join(repoRoot(), 'bench', `${n}.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
