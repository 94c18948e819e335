// The operator image, described once: what `pgtls build-operator-image`
// builds (the compiled operator and its runtime dependencies layered on the
// Debian trixie + Node.js base) and what the repository's Dockerfile must
// build too (test/unit/helm/image.test.ts compares them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util/repo.ts';

export interface OperatorImageSpec {
  repository: string;
  tag: string;
  /** The base image (the images helper's recipe) and the Debian image a Dockerfile starts from. */
  base: string;
  dockerBase: string;
  /** Numeric uid:gid: nobody:nogroup, as the chart's securityContext says. */
  user: string;
  workingDir: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  /** What /app holds: the compiled operator, its manifest (ESM: "type": "module") and runtime node_modules. */
  appEntries: string[];
}

/**
 * Node flags of the operator process, in its image and on the local cluster.
 * V8's young generation at its default (16 MiB per semi-space, three of them)
 * is mostly short-lived API answers; at 4 MiB the operator's RSS with 100
 * databases at rest was 191 MiB instead of 221 (README, Scale), for a few more
 * scavenges.
 * The old generation is capped at 256 MiB, whatever the host's memory. V8
 * sizes its next full GC from the live heap times a factor that grows with the
 * cap: 4 on a large host (so 90 MiB of garbage sat uncollected at rest with 100
 * databases whose live heap is ~25 MiB), 1.3 at 256 MiB. The same cap on every
 * host makes the local measurements hold in a pod, and leaves the chart's
 * 512 Mi limit room for everything outside the heap.
 */
export const OPERATOR_NODE_FLAGS = ['--max-semi-space-size=4', '--max-old-space-size=256'];

/**
 * glibc malloc of the operator process, in its image and on the local cluster.
 * By default glibc raises its mmap threshold each time a large block is freed,
 * so later large blocks (TLS buffers, API answers) come from the brk heap and
 * stay resident after they are freed; fixed thresholds give them back.
 */
export const OPERATOR_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

export function operatorImageSpec(version = packageVersion()): OperatorImageSpec {
  return {
    repository: 'localhost/pgtls/operator',
    tag: version,
    base: 'localhost/pgtls/node:20-trixie',
    dockerBase: 'debian:trixie-slim',
    user: '65534:65534',
    workingDir: '/app',
    entrypoint: ['/usr/bin/node', ...OPERATOR_NODE_FLAGS, '/app/dist/bundle/operator.js'],
    cmd: ['operator'],
    env: ['NODE_ENV=production', ...Object.entries(OPERATOR_MALLOC_ENV).map(([k, v]) => `${k}=${v}`)],
    appEntries: ['dist', 'node_modules', 'package.json'],
  };
}

export const operatorImageRef = (s = operatorImageSpec()) => `${s.repository}:${s.tag}`;
