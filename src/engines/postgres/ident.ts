// pg_ident.conf for certificate authentication. PostgreSQL's `cert` method
// maps only the certificate's CN by default, so with a shared issuer a client
// certificate minted for one database (CN=postgres) would log in to every
// other. With `clientname=DN` the map sees the whole subject (RFC 2253:
// `CN=postgres,OU=pgtls:<namespace>/<name>`) and admits a CN as that user
// only next to this database's marker. Pure: marker in, file out.
import { assertSafe } from '../shared/conf.ts';

/** The map name the hba `cert` lines refer to. */
export const CERT_MAP = 'pgtls-cert';

/** hba options of a `cert` line: the full subject through the map. */
export const CERT_HBA_OPTIONS = `map=${CERT_MAP} clientname=DN`;

// A marker holds [a-z0-9:/.-] only; its dots are written `[.]`, so the quoted
// regex holds no backslash (which the hba tokenizer and the regex both read).
const literal = (s: string) => s.replaceAll('.', '[.]');

/**
 * One map line: any subject with `OU=<marker>` as an attribute of its own
 * (the lookahead; order-independent, as issuers order attributes differently)
 * maps its CN, captured, to the user of that name. Markers are
 * `pgtls:<namespace>/<name>` with DNS-1123 parts, so none is a prefix of
 * another at an attribute boundary.
 */
export function renderPgIdent(marker: string | undefined): string {
  const lines = ['# Rendered by pgtls. MAPNAME SYSTEM-USERNAME PG-USERNAME'];
  if (marker) {
    if (!/^[a-z0-9:/.-]+$/.test(marker)) throw new Error(`certificate marker ${JSON.stringify(marker)}: expected pgtls:<namespace>/<name>`);
    const re = `/^(?=(?:.*[,+])?OU=${literal(marker)}(?:[,+]|$))(?:.*[,+])?CN=([^,+]+)(?:[,+].*)?$`;
    lines.push(`${CERT_MAP} "${assertSafe('certificate marker', re)}" \\1`);
  }
  return lines.join('\n') + '\n';
}
