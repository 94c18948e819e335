// Entry of the per-cluster supervisor process (spawned by `pgtls up`, see
// supervisor-client.ts): `supervisor-main --home <pgtls home>`. Kept apart
// from the CLI so the process loads only what supervising needs.
import { homeLayout } from '../home.ts';
import { runSupervisorDaemon } from './supervisor-daemon.ts';

const arg = process.argv.find((a) => a.startsWith('--home='));
if (!arg) {
  process.stderr.write('usage: supervisor-main --home=<pgtls home>\n');
  process.exit(2);
}
const layout = homeLayout(arg.slice('--home='.length));
await runSupervisorDaemon({ home: layout.home, pids: layout.pids, logs: layout.logs }, layout.clusterFile);
