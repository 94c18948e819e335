// A call the node must not give up on at the first failure (deleting a
// finished pod's object), retried with a doubling delay, bounded in attempts.
import type { Clock } from './clock.ts';

export interface RetryOptions {
  clock: Pick<Clock, 'setTimeout'>;
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
  onError(err: unknown, attempt: number): void;
}

/** Resolves true once fn succeeds, false after `attempts` failures (each reported to onError). */
export async function retryBounded(fn: () => Promise<void>, o: RetryOptions): Promise<boolean> {
  let delay = o.firstDelayMs;
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    try {
      await fn();
      return true;
    } catch (err) {
      o.onError(err, attempt);
    }
    if (attempt === o.attempts) break;
    await new Promise<void>((r) => o.clock.setTimeout(r, delay));
    delay = Math.min(delay * 2, o.maxDelayMs);
  }
  return false;
}
