// `pgtls images`: the table that maps image names to programs on this machine.
import { existsSync } from 'node:fs';
import { imageTable } from '../local/node/images.ts';

export function imagesCommand(opts: { json?: boolean }): void {
  const table = imageTable();
  if (opts.json) {
    process.stdout.write(JSON.stringify(table, null, 2) + '\n');
    return;
  }
  for (const i of table) {
    const present = i.path.slice(0, 1).every((p) => existsSync(p));
    process.stdout.write(
      `${i.repository}:${i.tags.join('|')}\n  ${i.description}${present ? '' : '  (NOT INSTALLED HERE)'}\n` +
        `  PATH ${i.path.join(':')}\n` +
        (i.libPath ? `  libs ${i.libPath.join(':')}\n` : '') +
        (i.entrypoint || i.cmd ? `  entrypoint ${JSON.stringify(i.entrypoint ?? [])} cmd ${JSON.stringify(i.cmd ?? [])}\n` : '  no default command: pods must set command\n') +
        `  user ${i.user}\n`,
    );
  }
}
