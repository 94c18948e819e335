// PostgreSQL takes every TLS change by reload (every ssl* setting is sighup and
// the files are re-read on reload); only the listener needs a restart.
import type { Engine } from '../engine.ts';
import { reloadsAllButListener } from '../shared/diff.ts';
import { KUBEDB_POSTGRES_DATA_DIR } from './paths.ts';

export const postgresEngine: Engine = {
  kind: 'Postgres',
  container: 'postgres',
  // port / listen_addresses are postmaster-context; every ssl* setting and the files are sighup.
  applyMode: reloadsAllButListener({ server: 'PostgreSQL', reload: 'SIGHUP', listenReason: 'listen address or port changed (postmaster context)' }),
  tlsChange: 'reload',
  reloadCommand: ['pg_ctl', 'reload', '-D', KUBEDB_POSTGRES_DATA_DIR],
};
