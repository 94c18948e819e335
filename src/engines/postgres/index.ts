// The PostgreSQL engine: every TLS change by reload; only the listener needs a restart.
import type { Engine } from '../engine.ts';
import { probeTls } from '../shared/probe.ts';
import { tlsChanges } from '../shared/diff.ts';
import { applyAndVerify } from '../shared/apply.ts';
import { applyPostgresTls } from './apply-tls.ts';
import { renderPostgresConfig, type PostgresConfigInput } from './config.ts';
import { reloadPostgres } from './reload.ts';

export const postgresEngine: Engine<PostgresConfigInput> = {
  kind: 'Postgres',
  renderConfig: renderPostgresConfig,
  tlsApplyMode(from, to) {
    const changes = tlsChanges(from, to);
    // port / listen_addresses are postmaster-context; every ssl* setting and the files are sighup.
    if (changes.includes('listen')) return { mode: 'restart', reason: 'listen address or port changed (postmaster context)' };
    if (changes.length === 0) return { mode: 'none', reason: 'nothing TLS-related changed' };
    return { mode: 'reload', reason: `PostgreSQL reloads ${changes.join(', ')} on SIGHUP` };
  },
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

export * from './config.ts';
export * from './hba.ts';
export * from './paths.ts';
export * from './reload.ts';
export * from './apply-tls.ts';
