// Structured logs (pino, JSON lines). Every argument of every log call, and
// every child logger's bindings, go through redact() first: secret material
// is removed by key name at any depth and by content inside strings (PEM
// blocks, passwords in conninfo/URLs), so a careless log call cannot leak it.
import { pino, type DestinationStream, type Logger } from 'pino';
import { redact } from './redact.ts';

export type { Logger };

/** The arguments of a log call, redacted; an Error first becomes `{ err }` as pino would log it. */
export function redactLogArgs(args: unknown[]): unknown[] {
  const [first, ...rest] = args;
  if (first instanceof Error) {
    const err = redact(first);
    return [{ err }, ...(rest.length ? rest.map((a) => redact(a)) : [(err as unknown as { message: string }).message])];
  }
  return args.map((a) => redact(a));
}

export function createLogger(name: string, level = process.env.PGTLS_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const opts = {
    name,
    level,
    base: { pid: process.pid },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        method.apply(this, redactLogArgs(args));
      },
    },
  };
  const log = destination ? pino(opts, destination) : pino(opts);
  // pino resets the bindings formatter for children; children inherit `child` from here, so every descendant's bindings are redacted.
  const child = log.child;
  const redactedChild = function (this: Logger, bindings: Parameters<Logger['child']>[0], options?: Parameters<Logger['child']>[1]) {
    return child.call(this, redact(bindings), options);
  };
  log.child = redactedChild as Logger['child'];
  return log;
}
