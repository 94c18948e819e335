// The PostgreSQL engine: every TLS change by reload; only the listener needs a restart.
import type { Engine } from '../process-engine.ts';
import { probeTls } from '../shared/probe.ts';
import { postgresEngine } from './engine.ts';
import { applyAndVerify } from '../shared/apply.ts';
import { applyPostgresTls } from './apply-tls.ts';
import { renderPostgresConfig, type PostgresConfigInput } from './config.ts';
import { reloadPostgres } from './reload.ts';

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

export { postgresEngine };
export * from './config.ts';
export * from './hba.ts';
export * from './paths.ts';
export * from './reload.ts';
export * from './apply-tls.ts';
