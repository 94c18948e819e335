// The psql command line for a database: one libpq connection string with the
// right sslmode and certificate files, and the password (if any) in a passfile,
// so the line can be printed, pasted and logged without a secret in it.

export interface ConnectPlan {
  /** The name the server certificate is checked against (verify-full). */
  host: string;
  /** Where to connect; libpq dials hostaddr and verifies host. */
  hostaddr: string;
  port: number;
  dbname: string;
  user: string;
  sslmode: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  passfile?: string;
}

/** libpq's quoting: single quotes when needed, with \ and ' escaped. */
export function conninfoValue(v: string): string {
  if (v !== '' && !/[\s'\\]/.test(v)) return v;
  return `'${v.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

const ORDER: (keyof ConnectPlan)[] = ['host', 'hostaddr', 'port', 'dbname', 'user', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'passfile'];

export function conninfo(p: ConnectPlan): string {
  const tls = p.sslmode !== 'disable';
  return ORDER.filter((k) => p[k] !== undefined && (tls || !['sslrootcert', 'sslcert', 'sslkey'].includes(k)))
    .map((k) => `${k}=${conninfoValue(String(p[k]))}`)
    .join(' ');
}

/** POSIX shell quoting, only where needed. */
export function shellQuote(s: string): string {
  if (s !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function psqlArgv(p: ConnectPlan, extra: string[] = []): string[] {
  return [conninfo(p), ...extra];
}

export function psqlLine(p: ConnectPlan, psql = 'psql', extra: string[] = []): string {
  return [psql, ...psqlArgv(p, extra)].map(shellQuote).join(' ');
}

/** A ~/.pgpass line for any host, port and database: hostname:port:database:username:password. */
export function passfileLine(user: string, password: string): string {
  const esc = (s: string) => s.replace(/[\\:]/g, (c) => `\\${c}`);
  return `*:*:*:${esc(user)}:${esc(password)}\n`;
}

/** The CN of a certificate subject as node prints it ("CN=postgres\nO=…"). */
export function commonName(subject: string): string | undefined {
  return subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3);
}
