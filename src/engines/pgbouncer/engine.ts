// PgBouncer takes client and server TLS, CA switches and TLS on/off by reload
// (SIGHUP re-reads the ini and rebuilds the TLS contexts); only the listener
// needs a restart.
import type { Engine } from '../engine.ts';
import { reloadsAllButListener } from '../shared/diff.ts';
import { KUBEDB_PGBOUNCER_PID_FILE } from './paths.ts';

export const pgbouncerEngine: Engine = {
  kind: 'PgBouncer',
  container: 'pgbouncer',
  // listen_addr/listen_port are changeable=no in SHOW CONFIG; every *_tls_* key is changeable=yes.
  applyMode: reloadsAllButListener({ server: 'PgBouncer', reload: 'RELOAD', listenReason: 'listen address or port changed (not reloadable)' }),
  tlsChange: 'reload',
  // The pid file is written at container start; SIGHUP = RELOAD without admin credentials.
  reloadCommand: ['sh', '-c', `kill -HUP "$(cat ${KUBEDB_PGBOUNCER_PID_FILE})"`],
};
