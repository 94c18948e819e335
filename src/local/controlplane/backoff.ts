// When to restart a component that exited: the kubelet's crash-loop back-off
// (and systemd's Restart=on-failure with RestartSec steps), as pure functions.

export interface BackoffPolicy {
  /** Delay before the first restart after a healthy run. */
  initialMs: number;
  /** The delay doubles per consecutive failure up to this cap. */
  maxMs: number;
  /** A process that has run this long and answers its health check resets the count. */
  resetAfterMs: number;
  /** Start attempts for a gated start (`up`) before it is reported as failed. */
  startAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000, startAttempts: 4 };

/** The delay before restart number `failures` (1 = the first consecutive failure). */
export function restartDelay(policy: BackoffPolicy, failures: number): number {
  const n = Math.max(1, Math.floor(failures));
  // 2^(n-1) overflows to Infinity long after the cap; min() keeps it finite.
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(n - 1, 30));
}

/** Whether a process that started at `startedAt` has earned a fresh back-off. */
export function earnsReset(policy: BackoffPolicy, startedAt: number, now: number, healthy: boolean): boolean {
  return healthy && now - startedAt >= policy.resetAfterMs;
}

/** Reads `name:count,name:count` (the test hook that fails a component's first starts). */
export function parseFailStarts(spec: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z0-9-]+):(\d+)$/.exec(part);
    if (!m) throw new Error(`PGTLS_TEST_FAIL_STARTS: "${part}" is not <component>:<count>`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}
