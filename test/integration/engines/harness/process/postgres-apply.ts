// PostgreSQL takes every TLS change by reload (all ssl* settings are sighup; the cert files
// are re-read on reload). Flow: check the files PostgreSQL would read, reload once, then
// prove from the wire that the new certificate (or no TLS) is served.
import { applyAndVerify, TlsApplyError, type ApplyTlsResult } from './apply.ts';
import type { Expected, VerifyOptions } from '../../../../../src/engines/shared/probe.ts';
import type { ServerTarget } from './target.ts';
import { configProblems, reloadPostgres } from './postgres-reload.ts';

export interface PostgresApplyOptions {
  expected: Expected;
  /** Ask PostgreSQL about postgresql.conf / pg_hba.conf before reloading (needs target.sql). Default true. */
  precheck?: boolean;
  verify?: VerifyOptions;
}

export async function applyPostgresTls(target: ServerTarget, o: PostgresApplyOptions): Promise<ApplyTlsResult> {
  if (o.precheck !== false && target.sql) {
    const p = await configProblems(target.sql);
    const bad = [...p.settings, ...p.hba];
    if (bad.length > 0) throw new TlsApplyError('none', `PostgreSQL would reject the new config, not reloading: ${bad.join('; ')}`);
    if (p.pendingRestart.length > 0) {
      // Not a TLS setting (those are all sighup): someone changed port/listen/shared memory too.
      throw new TlsApplyError('none', `the new config changes settings that need a restart: ${p.pendingRestart.join(', ')}`);
    }
  }
  return applyAndVerify({
    mode: 'reload',
    reason: 'PostgreSQL reloads TLS settings and files on SIGHUP',
    target,
    expected: o.expected,
    action: () => reloadPostgres(target),
    verify: { timeoutMs: 5000, ...o.verify },
  });
}
