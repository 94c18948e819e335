// pg_hba.conf from sslMode and clientAuthMode. Rules, first match wins:
// in-pod socket connections are trusted (as in KubeDB's images), TCP follows the modes:
//   TLS off            → host lines with the password method (cert is impossible without TLS)
//   allow / prefer     → hostssl with the method; hostnossl with the password method (or reject for cert)
//   require / verify-* → hostssl with the method; hostnossl reject
import { hbaLine, hbaMethod, sslModeValue } from '../shared/conf.ts';
import { CERT_HBA_OPTIONS } from './ident.ts';
import { tlsEnabled, tlsRequired, type ClientAuthMode, type SslMode } from '../types.ts';

export interface PgHbaInput {
  sslMode: SslMode;
  clientAuthMode: ClientAuthMode;
  /** Client networks; default all IPv4 and IPv6. */
  clientCidrs?: string[];
  /** Adds replication lines for this user (standbys connect with it). */
  replicationUser?: string;
  /** Trust local (unix socket) connections; default true, as in KubeDB pods. */
  localTrust?: boolean;
  /** cert lines map the full subject through pg_ident.conf (ident.ts) instead of trusting the CN alone. */
  certIdentMap?: boolean;
}

export const ALL_CIDRS = ['0.0.0.0/0', '::/0'];

export function renderPgHba(i: PgHbaInput): string {
  if (i.clientAuthMode === 'cert' && !tlsEnabled(i.sslMode)) {
    throw new Error('clientAuthMode cert needs TLS (sslMode must not be disable)');
  }
  const method = hbaMethod(i.clientAuthMode);
  const opts = i.clientAuthMode === 'cert' && i.certIdentMap ? CERT_HBA_OPTIONS : '';
  const cidrs = i.clientCidrs ?? ALL_CIDRS;
  const lines = ['# Rendered by pgtls. TYPE DATABASE USER ADDRESS METHOD', `# sslMode=${sslModeValue(i.sslMode)} clientAuthMode=${i.clientAuthMode}`];
  if (i.localTrust !== false) {
    lines.push(hbaLine('local', 'all', 'all', null, 'trust'));
    if (i.replicationUser) lines.push(hbaLine('local', 'replication', 'all', null, 'trust'));
  }
  const dbs: [string, string][] = [['all', 'all']];
  if (i.replicationUser) dbs.unshift(['replication', i.replicationUser]);
  for (const cidr of cidrs) {
    for (const [db, user] of dbs) {
      if (!tlsEnabled(i.sslMode)) {
        lines.push(hbaLine('host', db, user, cidr, method, opts));
        continue;
      }
      lines.push(hbaLine('hostssl', db, user, cidr, method, opts));
      const plain = tlsRequired(i.sslMode) || i.clientAuthMode === 'cert' ? 'reject' : method;
      lines.push(hbaLine('hostnossl', db, user, cidr, plain));
    }
  }
  return lines.join('\n') + '\n';
}
