// How the engines reach a running server: TCP for the probe, optionally a SQL connection
// (PostgreSQL superuser or PgBouncer admin console) and/or the server's PID for signals.
import pg from 'pg';
import type { ProbeTarget } from '../../../../../src/engines/shared/probe.ts';

export interface SqlEndpoint {
  /** Host name, IP, or a unix socket directory. */
  host: string;
  port: number;
  user: string;
  database: string;
  /** Never logged. */
  password?: string;
  ssl?: pg.ClientConfig['ssl'];
}

export interface ServerTarget extends ProbeTarget {
  /** Main server process: postmaster, pgbouncer, pgpool main. Signals go here. */
  pid?: number;
  sql?: SqlEndpoint;
}

/** Runs fn with a connected client; bounded connect and statement time; always closes. */
export async function withSql<T>(e: SqlEndpoint, fn: (c: pg.Client) => Promise<T>, timeoutMs = 5000): Promise<T> {
  const c = new pg.Client({
    host: e.host,
    port: e.port,
    user: e.user,
    database: e.database,
    password: e.password,
    ssl: e.ssl,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  // An 'error' event after a failed query must not crash the process.
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export function signal(t: ServerTarget, sig: NodeJS.Signals): void {
  if (!t.pid) throw new Error(`no pid to send ${sig} to`);
  process.kill(t.pid, sig);
}
