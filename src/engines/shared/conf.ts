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

/** Characters that would end or split an hba column: whitespace of any kind, quotes, NUL, `#`. */
const HBA_UNSAFE = /[\s"#\0]/;

/**
 * One hba line, columns aligned for humans reading the file in a pod. Every
 * column must be a single token: a value with whitespace (a newline above all),
 * a quote or a comment sign would add or change a rule, so it is an error.
 */
export function hbaLine(type: string, database: string, user: string, address: string | null, method: string, options = ''): string {
  const check = (what: string, v: string) => {
    if (v === '' || HBA_UNSAFE.test(v)) throw new Error(`hba ${what} ${JSON.stringify(v)} is not a single token (no whitespace, newline, quote or #)`);
    return v;
  };
  const type_ = HBA_TYPES[type];
  if (type_ === undefined) throw new Error(`hba type ${JSON.stringify(type)}: Unsupported value: supported values: ${Object.keys(HBA_TYPES).join(', ')}`);
  if (!HBA_METHODS.has(method)) throw new Error(`hba method ${JSON.stringify(method)}: Unsupported value: supported values: ${[...HBA_METHODS].join(', ')}`);
  const cols = [type_.padEnd(9), check('database', database).padEnd(12), check('user', user).padEnd(12)];
  if (address !== null) cols.push(check('address', address).padEnd(18));
  cols.push(method);
  if (options) cols.push(...options.split(' ').map((o) => check('option', o)));
  return cols.join(' ').trimEnd();
}

/** The connection types pgtls writes (a strict map: nothing else reaches a file). */
const HBA_TYPES: Record<string, string> = { local: 'local', host: 'host', hostssl: 'hostssl', hostnossl: 'hostnossl' };

/** The methods pgtls writes; `trust` only for in-pod socket lines, which pass the literal. */
const HBA_METHODS = new Set(['scram-sha-256', 'md5', 'cert', 'reject', 'trust']);

/** Client auth mode → hba method (same in PostgreSQL, PgBouncer and Pgpool); nothing else maps. */
const HBA_METHOD_OF: Readonly<Record<string, string>> = Object.freeze({ md5: 'md5', scram: 'scram-sha-256', cert: 'cert' });

/**
 * The hba method name for a client auth mode. The mode may come from stored
 * state, so anything outside the map (`trust`, a value with a newline) is an
 * error, never passed through.
 */
export function hbaMethod(mode: string): string {
  const m = Object.hasOwn(HBA_METHOD_OF, mode) ? HBA_METHOD_OF[mode] : undefined;
  if (m === undefined) throw new Error(`clientAuthMode: Unsupported value: ${JSON.stringify(mode)}: supported values: "md5", "scram", "cert"`);
  return m;
}

/** The sslMode as rendered: one of KubeDB's modes, else an error (it reaches file comments and pooler settings). */
export function sslModeValue(mode: string): string {
  if (!SSL_MODE_SET.has(mode)) throw new Error(`sslMode: Unsupported value: ${JSON.stringify(mode)}: supported values: ${[...SSL_MODE_SET].map((v) => `"${v}"`).join(', ')}`);
  return mode;
}
const SSL_MODE_SET = new Set(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);

/** Rejects a value that would break out of a config line (newlines, NUL). */
export function assertSafe(what: string, v: string): string {
  if (/[\n\r\0]/.test(v)) throw new Error(`${what} contains a newline or NUL`);
  return v;
}
