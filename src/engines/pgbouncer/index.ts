// The PgBouncer engine: client and server TLS, CA switches and TLS on/off all by reload.
import type { Engine } from '../process-engine.ts';
import { applyAndVerify } from '../shared/apply.ts';
import { pgbouncerEngine } from './engine.ts';
import { probeTls } from '../shared/probe.ts';
import { reloadPgBouncer } from './admin.ts';
import { renderPgBouncerConfig, type PgBouncerConfigInput } from './ini.ts';

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

export { pgbouncerEngine };
export * from './admin.ts';
export * from './ini.ts';
export * from './paths.ts';
