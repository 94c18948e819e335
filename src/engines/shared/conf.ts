// Quoting for the config formats the three engines share.

/** A postgresql.conf / pgpool.conf string literal: single quotes, embedded quotes doubled. */
export function confString(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

export type ConfValue = string | number | boolean;

/** Renders `key = value` lines; strings quoted, booleans on/off, numbers bare. */
export function confLines(settings: [string, ConfValue][]): string {
  return settings
    .map(([k, v]) => `${k} = ${typeof v === 'string' ? confString(v) : typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v)}`)
    .join('\n');
}

/** A libpq conninfo value: quoted when it has spaces, quotes or backslashes, or is empty. */
export function conninfoValue(v: string): string {
  return /^[^\s'\\]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function conninfo(params: [string, string | number | undefined][]): string {
  return params
    .filter((p): p is [string, string | number] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${conninfoValue(String(v))}`)
    .join(' ');
}

/** One hba line, columns aligned for humans reading the file in a pod. */
export function hbaLine(type: string, database: string, user: string, address: string | null, method: string, options = ''): string {
  const cols = [type.padEnd(9), database.padEnd(12), user.padEnd(12)];
  if (address !== null) cols.push(address.padEnd(18));
  cols.push(method);
  if (options) cols.push(options);
  return cols.join(' ').trimEnd();
}

/** The hba method name for a client auth mode (same in PostgreSQL, PgBouncer and Pgpool). */
export function hbaMethod(mode: 'md5' | 'scram' | 'cert'): string {
  return mode === 'scram' ? 'scram-sha-256' : mode;
}

/** Rejects a value that would break out of a config line (newlines, NUL). */
export function assertSafe(what: string, v: string): string {
  if (/[\n\r\0]/.test(v)) throw new Error(`${what} contains a newline or NUL`);
  return v;
}
