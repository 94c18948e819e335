import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (src/util/ is two levels below it). */
export function repoRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}
