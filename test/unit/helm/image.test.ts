// The Dockerfile builds the image `pgtls build-operator-image` builds: the
// same user, working directory, entrypoint, command, environment and files
// under /app, on the same Debian release; and the chart runs that image as
// that user with that entrypoint.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../src/util/repo.ts';
import { operatorImageSpec } from '../../../src/install/operator-image.ts';

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions (continuations joined, comments dropped), per stage. */
function parseDockerfile(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  let cur = '';
  const flush = () => {
    const line = cur.trim();
    cur = '';
    if (!line) return;
    const m = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const ins = { op: m[1]!.toUpperCase(), args: m[2]!.trim() };
    if (ins.op === 'FROM') stages.push([]);
    if (stages.length === 0) throw new Error(`${ins.op} before FROM`);
    stages[stages.length - 1]!.push(ins);
  };
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    if (raw.endsWith('\\')) cur += raw.slice(0, -1) + ' ';
    else {
      cur += raw;
      flush();
    }
  }
  flush();
  return stages;
}

const json = (args: string) => JSON.parse(args) as string[];

describe('the Dockerfile and the image built here', () => {
  const stages = parseDockerfile(readFileSync(join(repoRoot(), 'Dockerfile'), 'utf8'));
  const final = stages[stages.length - 1]!;
  const one = (op: string) => {
    const all = final.filter((i) => i.op === op);
    assert.equal(all.length, 1, `one ${op} in the final stage`);
    return all[0]!.args;
  };
  const spec = operatorImageSpec();

  it('the final stage has the spec\'s base, user, working directory, entrypoint, command and environment', () => {
    assert.equal(one('FROM'), spec.dockerBase);
    assert.equal(spec.base.split(':')[1], '20-trixie', 'the base built here is Debian trixie\'s Node.js too');
    assert.match(spec.dockerBase, /trixie/);
    assert.equal(one('USER'), spec.user);
    assert.equal(one('WORKDIR'), spec.workingDir);
    assert.deepEqual(json(one('ENTRYPOINT')), spec.entrypoint);
    assert.deepEqual(json(one('CMD')), spec.cmd);
    assert.deepEqual(final.filter((i) => i.op === 'ENV').map((i) => i.args.replace(/\s+/, '=')), spec.env);
    assert.match(final.find((i) => i.op === 'RUN')!.args, /apt-get install -y --no-install-recommends nodejs /, 'Debian\'s nodejs, as the base built here');
  });

  it('copies exactly the spec\'s files into /app', () => {
    const copies = final.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/).at(-1)!);
    assert.deepEqual(copies.map((d) => d.replace(/^\/app\//, '')).sort(), [...spec.appEntries].sort());
  });

  it('the build stage compiles with npm run build and keeps only runtime dependencies', () => {
    const build = stages[0]!.map((i) => `${i.op} ${i.args}`).join('\n');
    assert.match(build, /RUN npm run build/);
    assert.match(build, /npm ci --omit=dev --omit=optional/);
    const ignore = readFileSync(join(repoRoot(), '.dockerignore'), 'utf8');
    for (const src of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'scripts/operator-bundle.mjs', 'src/']) assert.ok(ignore.includes(`!${src}`), `.dockerignore lets ${src} in`);
  });

  it('the chart runs the image\'s entrypoint with the `operator` command, as the image\'s user', () => {
    const values = readFileSync(join(repoRoot(), 'deploy', 'helm', 'pgtls', 'values.yaml'), 'utf8');
    assert.match(values, new RegExp(`repository: ${spec.repository}\\n`));
    assert.match(values, /runAsUser: 65534\n\s+runAsGroup: 65534/);
    const dep = readFileSync(join(repoRoot(), 'deploy', 'helm', 'pgtls', 'templates', 'deployment.yaml'), 'utf8');
    assert.match(dep, /args:\n\s+- operator\n/);
    // The container's own keys sit at 10 spaces (a preStop hook's exec command is deeper).
    assert.ok(!/^ {10}command:/m.test(dep), 'the chart keeps the image\'s entrypoint');
    const chart = readFileSync(join(repoRoot(), 'deploy', 'helm', 'pgtls', 'Chart.yaml'), 'utf8');
    assert.match(chart, new RegExp(`appVersion: "${spec.tag}"`));
  });
});
