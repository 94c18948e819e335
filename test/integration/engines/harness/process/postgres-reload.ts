// Reloading PostgreSQL and reading back what it thinks of its config files.
import { signal, withSql, type ServerTarget, type SqlEndpoint } from './target.ts';

/** SELECT pg_reload_conf() when we have a superuser connection, else SIGHUP to the postmaster. */
export async function reloadPostgres(t: ServerTarget): Promise<void> {
  if (t.sql) {
    await withSql(t.sql, async (c) => {
      await c.query('SELECT pg_reload_conf()');
    });
    return;
  }
  signal(t, 'SIGHUP');
}

export interface ConfigProblems {
  /** postgresql.conf lines PostgreSQL would not accept. */
  settings: string[];
  /** Settings that changed but need a restart (postmaster context). */
  pendingRestart: string[];
  /** pg_hba.conf lines PostgreSQL would not accept. */
  hba: string[];
}

/**
 * What PostgreSQL thinks of the files on disk right now (they are re-read by these views),
 * so it works before a reload. TLS file contents are not checked here: only the wire can tell.
 */
export async function configProblems(sql: SqlEndpoint): Promise<ConfigProblems> {
  return withSql(sql, async (c) => {
    const fs = await c.query<{ sourcefile: string; sourceline: number; name: string; error: string }>(
      'SELECT sourcefile, sourceline, name, error FROM pg_file_settings WHERE error IS NOT NULL',
    );
    const settings: string[] = [];
    const pendingRestart: string[] = [];
    for (const r of fs.rows) {
      // "setting could not be applied" = a postmaster-context value changed: valid, but needs a restart.
      if (r.error === 'setting could not be applied') pendingRestart.push(r.name);
      else settings.push(`${r.sourcefile}:${r.sourceline}: ${r.name ?? ''} ${r.error}`.trim());
    }
    // pg_hba_file_rules judges hostssl lines by the *running* ssl value; when the files on disk
    // turn TLS on, that complaint goes away with the same reload, so it is not a problem.
    const sslOn = await c.query<{ setting: string }>(
      "SELECT setting FROM pg_file_settings WHERE name = 'ssl' AND error IS NULL ORDER BY seqno DESC LIMIT 1",
    );
    const turningOn = ['on', 'true', 'yes', '1'].includes(sslOn.rows[0]?.setting.toLowerCase() ?? '');
    const hba = await c.query<{ line_number: number; error: string }>(
      'SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL',
    );
    const hbaErrors = hba.rows
      .filter((r) => !(turningOn && /hostssl record cannot match because SSL is disabled/.test(r.error)))
      .map((r) => `pg_hba.conf:${r.line_number}: ${r.error}`);
    return { settings, pendingRestart, hba: hbaErrors };
  });
}
