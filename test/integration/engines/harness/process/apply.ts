// The common shape of "apply a TLS change to a running server": do the engine's action
// (reload or restart), then prove from the wire that the expected certificate is served.
import { describe, verifyServed, ServedMismatchError, type Expected, type ProbeResult, type VerifyOptions } from '../../../../../src/engines/shared/probe.ts';
import { restoreFiles, type Snapshot } from './files.ts';
import type { ServerTarget } from './target.ts';
import type { ApplyMode } from '../../../../../src/engines/types.ts';
import { keyMatchesCert } from '../../../../../src/certs/inspect.ts';

export interface ApplyTlsResult {
  path: ApplyMode;
  reason: string;
  /** Time the reload/restart action itself took (0 for none). */
  actionMs: number;
  /** From the start of the action until the expected certificate was seen on the wire. */
  servedAfterMs: number;
  probes: number;
  served: string;
}

export class TlsApplyError extends Error {
  constructor(
    readonly path: ApplyMode,
    message: string,
    readonly served?: ProbeResult,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TlsApplyError';
  }
}

export interface ApplyStep {
  mode: ApplyMode;
  reason: string;
  target: ServerTarget;
  expected: Expected;
  action: () => Promise<void>;
  verify?: VerifyOptions;
}

export async function applyAndVerify(s: ApplyStep): Promise<ApplyTlsResult> {
  const t0 = performance.now();
  if (s.mode !== 'none') await s.action();
  const actionMs = performance.now() - t0;
  try {
    const v = await verifyServed(s.target, s.expected, s.verify);
    return {
      path: s.mode,
      reason: s.reason,
      actionMs,
      servedAfterMs: performance.now() - t0,
      probes: v.attempts,
      served: describe(v.served),
    };
  } catch (err) {
    if (err instanceof ServedMismatchError) {
      throw new TlsApplyError(
        s.mode,
        `${s.mode} done but the server does not serve the new TLS configuration: ${err.message}. ` +
          'The server probably rejected the new files (see its log); restore the previous files and reload.',
        err.served,
        { cause: err },
      );
    }
    throw err;
  }
}

/** Checks a cert/key pair before it is installed; returns problems (empty = fine). */
export function checkPair(certPem: string, keyPem: string): string[] {
  try {
    return keyMatchesCert(certPem, keyPem) ? [] : ['the private key does not belong to the certificate'];
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * The way back after a failed apply: put the previous files back, do the same action
 * again, and check that the previous state is served.
 */
export async function restoreAndVerify(
  previous: Snapshot[],
  target: ServerTarget,
  expected: Expected,
  action: () => Promise<void>,
  opts: { mode?: ApplyMode; verify?: VerifyOptions } = {},
): Promise<ApplyTlsResult> {
  await restoreFiles(previous);
  return applyAndVerify({ mode: opts.mode ?? 'reload', reason: 'restore previous TLS files', target, expected, action, verify: opts.verify });
}
