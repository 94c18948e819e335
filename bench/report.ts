// Every benchmark prints one JSON document on stdout and a summary on stderr,
// and appends the JSON to bench/results/ so numbers can be compared over time.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/repo.ts';

export function report(name: string, result: Record<string, unknown>, summary: string): void {
  const doc = { bench: name, at: new Date().toISOString(), host: { cores: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency }, ...result };
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  process.stderr.write(`${name}: ${summary}\n`);
  const dir = join(repoRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, `${name}.jsonl`), JSON.stringify(doc) + '\n');
}
