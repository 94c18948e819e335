#!/usr/bin/env node
// The operator's own entry point: `operator-main.js operator [options]`, as
// `pgtls operator`. `npm run build` bundles it (dist/bundle/operator.js) with
// only what the operator calls; the image and the local cluster run that.
import { Command } from 'commander';
import { operatorCommand } from './operator.ts';
import { registerOperatorCommand } from './operator-command.ts';

const program = new Command().name('pgtls').showHelpAfterError();
registerOperatorCommand(program, operatorCommand);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`pgtls: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
