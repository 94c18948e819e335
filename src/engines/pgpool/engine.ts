// Pgpool-II 4.3 builds its frontend TLS context once, in the main process:
// certificate, key, frontend CA and ssl on/off need a restart; pool_hba and
// pool_passwd reload; the CA file's content for backend verification is
// re-read for every backend connection.
import type { Engine } from '../engine.ts';
import { tlsChanges } from '../shared/diff.ts';
import type { ApplyDecision, TlsState } from '../types.ts';

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

export const pgpoolEngine: Engine = {
  kind: 'Pgpool',
  container: 'pgpool',
  applyMode: pgpoolApplyMode,
  // Every ReconfigureTLS change touches the certificate or ssl on/off: pod by pod, each Ready before the next.
  tlsChange: 'restart',
  reloadCommand: [],
};
