// What kinds share in their ops adapter: the TLS view of a kind whose client
// authentication is spec.clientAuthMode (Postgres, Pgpool; PgBouncer's is
// connectionPool.authType).
import type { DbObject } from '../api/objects.ts';
import { CLIENT_AUTH_MODES, oneOf, type ClientAuthMode, type SslMode } from '../api/shared/enums.ts';
import type { OpsAdapter } from '../opsmanager/adapter.ts';

type WithClientAuth = DbObject & { spec: { clientAuthMode?: ClientAuthMode } };

export function clientAuthModeTls<DB extends WithClientAuth>(
  view: (db: DB) => { sslMode: SslMode; clientAuthMode: string },
): Pick<OpsAdapter<DB>, 'dbTls' | 'planned' | 'specPatch'> {
  return {
    dbTls(db) {
      const v = view(db);
      return { tls: db.spec.tls, sslMode: v.sslMode, clientAuthMode: v.clientAuthMode };
    },
    planned(db, next) {
      const copy = structuredClone(db);
      copy.spec.tls = next.tls;
      copy.spec.sslMode = next.sslMode;
      copy.spec.clientAuthMode = oneOf(CLIENT_AUTH_MODES, next.clientAuthMode, 'spec.tls.clientAuthMode');
      return copy;
    },
    specPatch: (next) => ({ tls: next.tls ?? null, sslMode: next.sslMode, clientAuthMode: next.clientAuthMode }),
  };
}
