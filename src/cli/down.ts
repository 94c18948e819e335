import { homeLayout } from '../local/home.ts';
import { down } from '../local/controlplane/cluster.ts';

export async function downCommand(opts: { purge?: boolean }): Promise<void> {
  const layout = homeLayout();
  await down(layout, { purge: opts.purge, log: (m) => process.stderr.write(`pgtls: ${m}\n`) });
}
