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
    entrypoint: ['/usr/bin/node', '/app/dist/cli/main.js'],
    cmd: ['operator'],
    env: ['NODE_ENV=production'],
    appEntries: ['dist', 'node_modules', 'package.json'],
  };
}

export const operatorImageRef = (s = operatorImageSpec()) => `${s.repository}:${s.tag}`;
