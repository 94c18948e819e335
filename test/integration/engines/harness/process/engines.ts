// The three servers as local processes: each engine's decision (from the
// operator's engine) and the process-level way to act on it.
import { pgbouncerEngine } from '../../../../../src/engines/pgbouncer/engine.ts';
import { renderPgBouncerConfig, type PgBouncerConfigInput } from '../../../../../src/engines/pgbouncer/ini.ts';
import { pgpoolEngine } from '../../../../../src/engines/pgpool/engine.ts';
import { renderPgpoolConfig, type PgpoolConfigInput } from '../../../../../src/engines/pgpool/config.ts';
import { postgresEngine } from '../../../../../src/engines/postgres/engine.ts';
import { renderPostgresConfig, type PostgresConfigInput } from '../../../../../src/engines/postgres/config.ts';
import { probeTls } from '../../../../../src/engines/shared/probe.ts';
import { applyAndVerify } from './apply.ts';
import type { Engine } from './engine.ts';
import { reloadPgBouncer } from './pgbouncer-admin.ts';
import { applyPostgresTls } from './postgres-apply.ts';
import { reloadPostgres } from './postgres-reload.ts';
import { signal, type ServerTarget } from './target.ts';

export const postgresProcessEngine: Engine<PostgresConfigInput> = {
  kind: 'Postgres',
  renderConfig: renderPostgresConfig,
  tlsApplyMode: postgresEngine.applyMode,
  reload: reloadPostgres,
  probe: probeTls,
  async applyTls(target, o) {
    if (o.decision?.mode === 'restart') {
      if (!o.restart) throw new Error('restart needed but no restart hook given');
      return applyAndVerify({ mode: 'restart', reason: o.decision.reason, target, expected: o.expected, action: o.restart, verify: { timeoutMs: 30_000, ...o.verify } });
    }
    if (o.decision?.mode === 'none') {
      return applyAndVerify({ mode: 'none', reason: o.decision.reason, target, expected: o.expected, action: async () => undefined, verify: o.verify });
    }
    return applyPostgresTls(target, o);
  },
};

export const pgbouncerProcessEngine: Engine<PgBouncerConfigInput> = {
  kind: 'PgBouncer',
  renderConfig: renderPgBouncerConfig,
  tlsApplyMode: pgbouncerEngine.applyMode,
  reload: reloadPgBouncer,
  probe: probeTls,
  async applyTls(target, o) {
    const mode = o.decision?.mode ?? 'reload';
    if (mode === 'restart' && !o.restart) throw new Error('restart needed but no restart hook given');
    return applyAndVerify({
      mode,
      reason: o.decision?.reason ?? 'PgBouncer rebuilds its TLS contexts on RELOAD',
      target,
      expected: o.expected,
      action: mode === 'restart' ? o.restart! : () => reloadPgBouncer(target),
      verify: { timeoutMs: mode === 'restart' ? 30_000 : 5000, ...o.verify },
    });
  },
};

export async function reloadPgpool(t: ServerTarget): Promise<void> {
  // SIGHUP to the main process = `pgpool reload`; it re-reads pool_hba.conf and pool_passwd, not ssl*.
  signal(t, 'SIGHUP');
}

export const pgpoolProcessEngine: Engine<PgpoolConfigInput> = {
  kind: 'Pgpool',
  renderConfig: renderPgpoolConfig,
  tlsApplyMode: pgpoolEngine.applyMode,
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
