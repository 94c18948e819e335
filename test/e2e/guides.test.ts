// Issue 14: the guides under docs/guides/ are runnable docs. Every ```bash
// block is run, command by command, in one shell per guide, against one local
// cluster for all guides; each command must exit as the guide says and print
// what the guide shows (format: test/helpers/guides.ts, docs/guides/README.md).
// Every ```yaml <path> block must equal the file the commands apply.
//   PGTLS_GUIDES=postgres/reconfigure   runs only guides whose path contains it
//   PGTLS_GUIDES_HOME=<pgtls home>      runs against that running cluster instead of a new one
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { GuideShell, matchOutput, parseBlocks, parseCommands } from '../helpers/guides.ts';
import { homeLayout } from '../../src/local/home.ts';
import { pgtlsKubectlPath } from '../../src/cli/plugin/kubectl.ts';
import { tmpDir } from '../helpers/tls.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const GUIDES_DIR = join(ROOT, 'docs', 'guides');
const COMMAND_TIMEOUT_MS = 5 * 60_000;
const GUIDE_TIMEOUT_MS = 15 * 60_000;

function guideFiles(): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.md') ? [join(d, e.name)] : []));
  const only = process.env.PGTLS_GUIDES;
  // README.md (the index) first, then in path order: quickstart, then per kind tls before reconfigure-tls.
  return walk(GUIDES_DIR)
    .map((f) => relative(GUIDES_DIR, f))
    .filter((f) => !only || f.includes(only))
    .sort((a, b) => Number(a !== 'README.md') - Number(b !== 'README.md') || Number(!a.startsWith('quickstart')) - Number(!b.startsWith('quickstart')) || a.localeCompare(b));
}

describe('runnable guides (docs/guides)', { timeout: 90 * 60_000 }, () => {
  let cluster: TestCluster | undefined;
  let env: NodeJS.ProcessEnv;
  const timings: Record<string, number> = {};
  const t0 = Date.now();

  before(async () => {
    let kubeconfig: string;
    let home: string;
    if (process.env.PGTLS_GUIDES_HOME) {
      home = process.env.PGTLS_GUIDES_HOME;
      kubeconfig = homeLayout(home).kubeconfig;
    } else {
      cluster = await startTestCluster();
      home = cluster.layout.home;
      kubeconfig = cluster.layout.kubeconfig;
    }
    timings['cluster up'] = Date.now() - t0;
    // `kubectl` in the guides is the server's version too (no skew warning, and
    // no kubectl needed on the machine); `kubectl pgtls` finds bin/kubectl-pgtls.
    const shim = tmpDir('pgtls-guides-bin-');
    symlinkSync(pgtlsKubectlPath(), join(shim, 'kubectl'));
    // No "still running" lines from `kubectl pgtls tls …`: how many a slow machine prints is not the guide's to show.
    // TMPDIR: `kubectl pgtls connect` leaves its files for the printed line on purpose; here they go with the test's scratch dirs.
    env = { ...process.env, PATH: `${shim}:${join(ROOT, 'bin')}:${process.env.PATH}`, KUBECONFIG: kubeconfig, PGTLS_HOME: home, TERM: 'dumb', LC_ALL: 'C.UTF-8', PGTLS_PROGRESS_HEARTBEAT: '0', TMPDIR: tmpDir('pgtls-guides-tmp-') };
    delete env.PGPASSWORD;
  });
  after(async () => {
    timings.total = Date.now() - t0;
    process.stderr.write(`guides timings (s): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v / 100) / 10])))}\n`);
    await cluster?.destroy();
  });

  for (const guide of guideFiles()) {
    it(guide, { timeout: GUIDE_TIMEOUT_MS }, async () => {
      const md = readFileSync(join(GUIDES_DIR, guide), 'utf8');
      const blocks = parseBlocks(md);
      // The manifests shown are the files applied.
      for (const b of blocks.filter((x) => x.lang === 'yaml' && x.attrs[0])) {
        const file = join(ROOT, b.attrs[0]!);
        assert.ok(existsSync(file), `${guide}:${b.line}: ${b.attrs[0]} does not exist`);
        assert.equal(`${b.body}\n`, readFileSync(file, 'utf8'), `${guide}:${b.line}: the block differs from ${b.attrs[0]}`);
      }
      const runnable = blocks.filter((b) => b.lang === 'bash' && !b.attrs.includes('no-run'));
      if (runnable.length === 0) return;
      // A scratch directory per guide (the CA files land there), with the repository's docs/ in it.
      const cwd = tmpDir('pgtls-guide-');
      symlinkSync(join(ROOT, 'docs'), join(cwd, 'docs'));
      const shell = new GuideShell(cwd, env);
      const started = Date.now();
      let passed = false;
      try {
        for (const b of runnable) {
          for (const c of parseCommands(b)) {
            const where = `${guide}:${c.line}`;
            const r = await shell.run(c.cmd, COMMAND_TIMEOUT_MS).catch((err: Error) => {
              throw new Error(`${where}: ${c.cmd}\n${err.message}`);
            });
            const show = `${where}: $ ${c.cmd}\n--- exit ${r.code}, output:\n${r.output}--- expected (exit ${c.exit}):\n${c.expected.join('\n')}${shell.stderr ? `\n--- shell stderr:\n${shell.stderr}` : ''}`;
            assert.equal(r.code, c.exit, show);
            const why = matchOutput(c.expected, r.output);
            assert.equal(why, undefined, `${why}\n${show}`);
          }
        }
        passed = true;
      } finally {
        timings[guide] = Date.now() - started;
        // A guide that stopped half-way leaves its namespace behind: remove it, so the next guide starts clean.
        if (!passed) await shell.run('kubectl delete namespace demo --ignore-not-found --timeout=120s', 150_000).catch(() => undefined);
        await shell.close();
        rmSync(cwd, { recursive: true, force: true });
      }
    });
  }
});
