// Secret material out of log lines, whatever shape the logged value has: by
// key name at any depth (a Secret's data, a rendered file map, env vars), and
// by content inside any string (PEM blocks, conninfo and URL passwords, SCRAM
// and md5 verifiers). Pure; the logger runs every argument through it.

export const REDACTED = '[redacted]';
const MAX_DEPTH = 24;

/**
 * Key names that hold a key, a password, a token or a file of them: Secret
 * payloads (`data`, `stringData`), TLS keys (`tls.key`, `server.key`,
 * `client.key`, `exporter.key`, `privateKey`), password files (`pgpass`,
 * `userlist.txt`, `pool_passwd`, `pcp.conf`), env vars (`POSTGRES_PASSWORD`,
 * `PGPASSWORD`), kubeconfig credentials (`client-key-data`, `token`).
 */
export function isSecretKey(name: string): boolean {
  const n = name.toLowerCase();
  if (EXACT.has(n)) return true;
  if (/passw(or)?d|passphrase|token|secret_?key|credential/.test(n)) return true;
  // `key`, `tls.key`, `server.key`, `client-key`, `api_key`, `privateKey`, `client-key-data`
  if (/(^|[._-])key(s)?$/.test(n) || /[a-z]Key(s)?$/.test(name) || /(^|[._-])key[._-]data$/.test(n)) return true;
  return false;
}

const EXACT = new Set(['data', 'stringdata', 'pgpass', '.pgpass', 'userlist', 'userlist.txt', 'pcp.conf', 'authorization', 'cookie', 'set-cookie', 'auth']);

/** PEM blocks (also a truncated one), passwords in conninfo strings and URLs, password verifiers. */
export function redactString(s: string): string {
  if (s.length < 8) return s;
  return s
    .replace(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(?:-----END \1-----|$)/g, (_m, label: string) => `[redacted PEM ${label}]`)
    .replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s;&]+)/gi, `$1${REDACTED}`)
    .replace(/(\/\/[^/:@\s]+:)[^@\s/]+@/g, `$1${REDACTED}@`)
    .replace(/SCRAM-SHA-256\$[^\s"',;]+/g, `SCRAM-SHA-256$${REDACTED}`)
    .replace(/\bmd5[0-9a-f]{32}\b/g, `md5${REDACTED}`)
    .replace(/(:TEXT)[^\s"',;]+/g, `$1${REDACTED}`);
}

function redactError(e: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: e.name, message: redactString(e.message) };
  if (e.stack) out.stack = redactString(e.stack);
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (e.cause !== undefined) out.cause = walk(e.cause, depth + 1, seen);
  return out;
}

function walk(v: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof v === 'string') return redactString(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth > MAX_DEPTH) return '[too deep]';
  if (seen.has(v)) return '[circular]';
  seen.add(v);
  try {
    if (v instanceof Error) return redactError(v, depth, seen);
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `[${v.byteLength} bytes]`;
    if (v instanceof Date) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1, seen));
    if (v instanceof Map) return walk(Object.fromEntries(v), depth, seen);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = isSecretKey(k) && x !== undefined && x !== null && x !== '' ? REDACTED : walk(x, depth + 1, seen);
    return out;
  } finally {
    seen.delete(v);
  }
}

/** A copy of `v` with every secret replaced; never mutates the input. */
export function redact<T>(v: T): T {
  return walk(v, 0, new WeakSet()) as T;
}
