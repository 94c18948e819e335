// Every benchmark prints one JSON document on stdout and a summary on stderr,
// and appends the JSON to bench/results/ so numbers can be compared over time.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { repoRoot } from '../src/util/repo.ts';

export function report(name: string, result: Record<string, unknown>, summary: string): void {
  const doc = { bench: name, at: new Date().toISOString(), host: { cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) }, ...result };
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  process.stderr.write(`${name}: ${summary}\n`);
  const dir = join(repoRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, `${name}.jsonl`), JSON.stringify(doc) + '\n');
}
