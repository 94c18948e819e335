// The Pgpool-II 4.3 engine. Its frontend SSL context is built once in the main process, so
// certificate, key, frontend CA and ssl on/off need a restart; pool_hba/pool_passwd reload;
// the CA file's *content* for backend verification is re-read per backend connection.
import type { Engine } from '../engine.ts';
import { applyAndVerify } from '../shared/apply.ts';
import { tlsChanges } from '../shared/diff.ts';
import { probeTls } from '../shared/probe.ts';
import { signal, type ServerTarget } from '../shared/target.ts';
import type { ApplyDecision, TlsState } from '../types.ts';
import { renderPgpoolConfig, type PgpoolConfigInput } from './config.ts';

export async function reloadPgpool(t: ServerTarget): Promise<void> {
  // SIGHUP to the main process = `pgpool reload`; it re-reads pool_hba.conf and pool_passwd, not ssl*.
  signal(t, 'SIGHUP');
}

export function pgpoolApplyMode(from: TlsState, to: TlsState): ApplyDecision {
  const changes = tlsChanges(from, to);
  const tlsOn = to.sslMode !== 'disable';
  if (changes.includes('listen')) return { mode: 'restart', reason: 'listen address or port changed' };
  if (changes.includes('tls-on-off')) return { mode: 'restart', reason: 'Pgpool 4.3 ignores ssl on/off on reload' };
  if (tlsOn && (changes.includes('cert') || changes.includes('paths'))) {
    return { mode: 'restart', reason: 'Pgpool 4.3 loads ssl_cert/ssl_key only at start' };
  }
  if (tlsOn && changes.includes('ca') && to.clientAuthMode === 'cert') {
    return { mode: 'restart', reason: 'Pgpool 4.3 loads the CA for client certificates only at start' };
  }
  if (changes.includes('ssl-mode') || changes.includes('client-auth')) return { mode: 'reload', reason: 'pool_hba.conf changed (reloadable)' };
  if (changes.length === 0) return { mode: 'none', reason: 'nothing TLS-related changed' };
  return { mode: 'none', reason: `${changes.join(', ')}: the CA file is re-read for every new backend connection` };
}

export const pgpoolEngine: Engine<PgpoolConfigInput> = {
  kind: 'Pgpool',
  renderConfig: renderPgpoolConfig,
  tlsApplyMode: pgpoolApplyMode,
  reload: reloadPgpool,
  probe: probeTls,
  async applyTls(target, o) {
    const decision = o.decision ?? { mode: 'restart', reason: 'Pgpool 4.3 takes TLS changes only at start' };
    if (decision.mode === 'restart' && !o.restart) throw new Error('Pgpool needs a restart hook for TLS changes');
    return applyAndVerify({
      mode: decision.mode,
      reason: decision.reason,
      target,
      expected: o.expected,
      action: decision.mode === 'restart' ? o.restart! : () => reloadPgpool(target),
      // A restart is ~2 s (the old main process lingers after the port closes).
      verify: { timeoutMs: decision.mode === 'restart' ? 30_000 : 5000, intervalMs: 20, ...o.verify },
    });
  },
};

export * from './config.ts';
export * from './paths.ts';
