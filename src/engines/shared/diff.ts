// What changed between two TLS states, in the words used for decisions and conditions.
import type { ApplyDecision, TlsState } from '../types.ts';

export type TlsChange =
  | 'listen'
  | 'tls-on-off'
  | 'ssl-mode'
  | 'client-auth'
  | 'cert'
  | 'ca'
  | 'paths'
  | 'backend-ssl-mode'
  | 'backend-ca';

const sameSet = (a: string[] = [], b: string[] = []) => a.length === b.length && new Set([...a, ...b]).size === new Set(a).size;

export function tlsChanges(from: TlsState, to: TlsState): TlsChange[] {
  const out: TlsChange[] = [];
  if (from.listen?.address !== to.listen?.address || from.listen?.port !== to.listen?.port) out.push('listen');
  if ((from.sslMode === 'disable') !== (to.sslMode === 'disable')) out.push('tls-on-off');
  else if (from.sslMode !== to.sslMode) out.push('ssl-mode');
  if (from.clientAuthMode !== to.clientAuthMode) out.push('client-auth');
  if (from.certFingerprint !== to.certFingerprint) out.push('cert');
  if (!sameSet(from.caFingerprints, to.caFingerprints)) out.push('ca');
  if (JSON.stringify(from.paths ?? null) !== JSON.stringify(to.paths ?? null)) out.push('paths');
  if (from.backend?.sslMode !== to.backend?.sslMode) out.push('backend-ssl-mode');
  if (!sameSet(from.backend?.caFingerprints, to.backend?.caFingerprints)) out.push('backend-ca');
  return out;
}

/**
 * applyMode of a server that re-reads every TLS setting and file on reload and
 * binds its listener only at start (PostgreSQL, PgBouncer).
 */
export function reloadsAllButListener(o: { server: string; reload: string; listenReason: string }): (from: TlsState, to: TlsState) => ApplyDecision {
  return (from, to) => {
    const changes = tlsChanges(from, to);
    if (changes.includes('listen')) return { mode: 'restart', reason: o.listenReason };
    if (changes.length === 0) return { mode: 'none', reason: 'nothing TLS-related changed' };
    return { mode: 'reload', reason: `${o.server} reloads ${changes.join(', ')} on ${o.reload}` };
  };
}
