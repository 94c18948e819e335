// Structured logs (pino, JSON lines). Secret material is redacted by key name
// wherever it appears in a logged object, so a careless log call cannot leak it.
import { pino, type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = ['password', 'tls.key', 'key', 'privateKey', 'data', 'stringData', 'token', 'client-key-data'];

export function createLogger(name: string, level = process.env.PGTLS_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    redact: {
      paths: SECRET_KEYS.flatMap((k) => [`"${k}"`, `*."${k}"`, `*.*."${k}"`]),
      censor: '[redacted]',
    },
  });
}
