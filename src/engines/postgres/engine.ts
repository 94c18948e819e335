// PostgreSQL takes every TLS change by reload (every ssl* setting is sighup and
// the files are re-read on reload); only the listener needs a restart.
import type { Engine } from '../engine.ts';
import { tlsChanges } from '../shared/diff.ts';
import { KUBEDB_POSTGRES_DATA_DIR } from './paths.ts';

export const postgresEngine: Engine = {
  kind: 'Postgres',
  container: 'postgres',
  applyMode(from, to) {
    const changes = tlsChanges(from, to);
    // port / listen_addresses are postmaster-context; every ssl* setting and the files are sighup.
    if (changes.includes('listen')) return { mode: 'restart', reason: 'listen address or port changed (postmaster context)' };
    if (changes.length === 0) return { mode: 'none', reason: 'nothing TLS-related changed' };
    return { mode: 'reload', reason: `PostgreSQL reloads ${changes.join(', ')} on SIGHUP` };
  },
  tlsChange: 'reload',
  reloadCommand: ['pg_ctl', 'reload', '-D', KUBEDB_POSTGRES_DATA_DIR],
};
