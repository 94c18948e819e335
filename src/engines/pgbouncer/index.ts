// The PgBouncer engine: client and server TLS, CA switches and TLS on/off all by reload.
import type { Engine } from '../engine.ts';
import { applyAndVerify } from '../shared/apply.ts';
import { tlsChanges } from '../shared/diff.ts';
import { probeTls } from '../shared/probe.ts';
import { reloadPgBouncer } from './admin.ts';
import { renderPgBouncerConfig, type PgBouncerConfigInput } from './ini.ts';

export const pgbouncerEngine: Engine<PgBouncerConfigInput> = {
  kind: 'PgBouncer',
  renderConfig: renderPgBouncerConfig,
  tlsApplyMode(from, to) {
    const changes = tlsChanges(from, to);
    // listen_addr/listen_port are changeable=no in SHOW CONFIG; every *_tls_* key is changeable=yes.
    if (changes.includes('listen')) return { mode: 'restart', reason: 'listen address or port changed (not reloadable)' };
    if (changes.length === 0) return { mode: 'none', reason: 'nothing TLS-related changed' };
    return { mode: 'reload', reason: `PgBouncer reloads ${changes.join(', ')} on RELOAD` };
  },
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

export * from './admin.ts';
export * from './ini.ts';
export * from './paths.ts';
