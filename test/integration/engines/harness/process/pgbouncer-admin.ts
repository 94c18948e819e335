// PgBouncer's admin console (database "pgbouncer"): RELOAD re-reads the ini, the userlist and
// the hba file, and rebuilds the TLS contexts even when the paths are unchanged.
import { signal, withSql, type ServerTarget } from './target.ts';

/** RELOAD on the admin console when we have credentials, else SIGHUP. Answers OK even when TLS files were rejected. */
export async function reloadPgBouncer(t: ServerTarget): Promise<void> {
  if (t.sql) {
    // The admin console speaks the simple query protocol only: no parameters.
    await withSql(t.sql, async (c) => {
      await c.query('RELOAD');
    });
    return;
  }
  signal(t, 'SIGHUP');
}

/** Closes pooled server connections once released, so they reconnect with the new server_tls_* settings. */
export async function reconnectPgBouncer(t: ServerTarget, database?: string): Promise<void> {
  if (!t.sql) throw new Error('RECONNECT needs the admin console');
  if (database !== undefined && !/^[A-Za-z0-9_]+$/.test(database)) throw new Error('RECONNECT: database name must be a plain identifier');
  await withSql(t.sql, async (c) => {
    await c.query(database ? `RECONNECT ${database}` : 'RECONNECT');
  });
}
