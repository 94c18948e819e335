// The Pgpool-II 4.3 engine. Its frontend SSL context is built once in the main process, so
// certificate, key, frontend CA and ssl on/off need a restart; pool_hba/pool_passwd reload;
// the CA file's *content* for backend verification is re-read per backend connection.
import type { Engine } from '../process-engine.ts';
import { applyAndVerify } from '../shared/apply.ts';
import { pgpoolApplyMode, pgpoolEngine } from './engine.ts';
import { probeTls } from '../shared/probe.ts';
import { signal, type ServerTarget } from '../shared/target.ts';
import { renderPgpoolConfig, type PgpoolConfigInput } from './config.ts';

export async function reloadPgpool(t: ServerTarget): Promise<void> {
  // SIGHUP to the main process = `pgpool reload`; it re-reads pool_hba.conf and pool_passwd, not ssl*.
  signal(t, 'SIGHUP');
}

export const pgpoolProcessEngine: Engine<PgpoolConfigInput> = {
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

export { pgpoolEngine, pgpoolApplyMode };
export * from './config.ts';
export * from './paths.ts';
