// The ReconfigureTLS ops request a `tls <action>` writes, in the shapes of
// KubeDB's guides (add-tls.yaml, rotate-tls.yaml, change-issuer.yaml,
// remove-tls.yaml), and the checks that catch a wrong request before the
// cluster does, with a message naming the flag and the allowed values.
import { PluginError } from '../errors.ts';
import { OPS_API_VERSION, type DbKind } from '../kinds.ts';
import type { DbObject } from '../status/model.ts';

export const TLS_ACTIONS = ['add', 'rotate', 'change-issuer', 'remove'] as const;
export type TlsAction = (typeof TLS_ACTIONS)[number];

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const ISSUER_KINDS = ['Issuer', 'ClusterIssuer'];

export interface TlsOptions {
  issuer?: string;
  issuerKind?: string;
  sslMode?: string;
  clientAuthMode?: string;
  /** `<alias>=<DN>`, e.g. `client=O=postgres,OU=client`. */
  subject?: string[];
  name?: string;
  timeout?: string;
  apply?: string;
}

type Subject = Partial<Record<'organizations' | 'organizationalUnits' | 'countries' | 'localities' | 'provinces', string[]>>;

const DN_KEYS: Record<string, keyof Subject> = { O: 'organizations', OU: 'organizationalUnits', C: 'countries', L: 'localities', ST: 'provinces' };

/** `client=O=postgres,OU=client` → { alias: 'client', subject: { organizations: ['postgres'], organizationalUnits: ['client'] } }. */
export function parseSubject(text: string): { alias: string; subject: Subject } {
  const eq = text.indexOf('=');
  const alias = eq > 0 ? text.slice(0, eq) : '';
  const dn = eq > 0 ? text.slice(eq + 1) : '';
  if (!alias || !dn) throw new PluginError(`--subject ${text}: expected <alias>=<DN>, e.g. client=O=postgres,OU=client`, 2);
  const subject: Subject = {};
  for (const part of dn.split(',')) {
    const m = /^\s*([A-Za-z]+)\s*=\s*(.+?)\s*$/.exec(part);
    const key = m ? DN_KEYS[m[1]!.toUpperCase()] : undefined;
    if (!m || !key) throw new PluginError(`--subject ${text}: "${part}" is not one of ${Object.keys(DN_KEYS).map((k) => `${k}=`).join(', ')}`, 2);
    (subject[key] ??= []).push(m[2]!);
  }
  return { alias, subject };
}

function oneOf(flag: string, v: string | undefined, allowed: string[]): void {
  if (v !== undefined && !allowed.includes(v)) throw new PluginError(`${flag} ${v}: allowed values are ${allowed.join(', ')}`, 2);
}

/** The ops request object; metadata.generateName unless --name is given. */
export function buildTlsRequest(kind: DbKind, namespace: string, db: string, action: TlsAction, o: TlsOptions): Record<string, unknown> {
  oneOf('--issuer-kind', o.issuerKind, ISSUER_KINDS);
  if (o.sslMode === 'disable') throw new PluginError('--ssl-mode disable turns TLS off; use tls remove, or one of allow, prefer, require, verify-ca, verify-full', 2);
  oneOf('--ssl-mode', o.sslMode, SSL_MODES.filter((m) => m !== 'disable'));
  oneOf('--client-auth-mode', o.clientAuthMode, kind.clientAuthModes);
  oneOf('--apply', o.apply, ['IfReady', 'Always']);
  if (o.timeout !== undefined && !/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(o.timeout)) throw new PluginError(`--timeout ${o.timeout}: expected a duration like 5m, 90s or 1h30m`, 2);
  if (o.name !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(o.name)) throw new PluginError(`--name ${o.name}: lower-case letters, digits and '-', at most 63 characters`, 2);
  const needsIssuer = action === 'add' || action === 'change-issuer';
  if (needsIssuer && !o.issuer) throw new PluginError(`tls ${action} needs --issuer <name> (an Issuer in ${namespace}, or a ClusterIssuer with --issuer-kind ClusterIssuer)`, 2);
  if (!needsIssuer && o.issuer) throw new PluginError(`--issuer is for tls add and tls change-issuer, not tls ${action}`, 2);
  if (action !== 'add' && o.sslMode) throw new PluginError(`--ssl-mode is for tls add, not tls ${action}`, 2);
  if (action !== 'add' && action !== 'change-issuer' && o.subject?.length) throw new PluginError(`--subject is for tls add and tls change-issuer, not tls ${action}`, 2);
  if (action === 'remove' && o.clientAuthMode === 'cert') throw new PluginError('--client-auth-mode cert needs TLS; removing TLS needs md5 or scram', 2);
  if ((action === 'rotate' || action === 'change-issuer') && o.clientAuthMode) throw new PluginError(`--client-auth-mode is for tls add and tls remove, not tls ${action}`, 2);

  const tls: Record<string, unknown> = {};
  if (o.sslMode) tls.sslMode = o.sslMode;
  if (o.clientAuthMode) tls.clientAuthMode = o.clientAuthMode;
  if (needsIssuer) tls.issuerRef = { name: o.issuer, kind: o.issuerKind ?? 'Issuer', apiGroup: 'cert-manager.io' };
  if (o.subject?.length) tls.certificates = o.subject.map(parseSubject).map(({ alias, subject }) => ({ alias, subject }));
  if (action === 'rotate') tls.rotateCertificates = true;
  if (action === 'remove') tls.remove = true;

  const base = `${db}-${action === 'change-issuer' ? 'issuer' : action}-tls-`.slice(0, 58);
  return {
    apiVersion: OPS_API_VERSION,
    kind: kind.opsKind,
    metadata: { ...(o.name ? { name: o.name } : { generateName: base }), namespace },
    spec: {
      type: 'ReconfigureTLS',
      databaseRef: { name: db },
      tls,
      ...(o.timeout ? { timeout: o.timeout } : {}),
      ...(o.apply ? { apply: o.apply } : {}),
    },
  };
}

/** Why the action cannot apply to the database as it is now, or undefined. */
export function notApplicable(kind: DbKind, db: DbObject, action: TlsAction, namespace: string): string | undefined {
  const hasTls = !!db.spec?.tls?.issuerRef;
  const id = `${kind.kind} ${namespace}/${db.metadata.name}`;
  const short = `${kind.names[0]}/${db.metadata.name}`;
  if (action === 'add' && hasTls) {
    return `${id} already has TLS (issuer ${db.spec!.tls!.issuerRef!.kind ?? 'Issuer'}/${db.spec!.tls!.issuerRef!.name}); use tls rotate, tls change-issuer or tls remove`;
  }
  if (action !== 'add' && !hasTls) return `${id} has no TLS (spec.tls.issuerRef is not set); add it first: kubectl pgtls tls add ${short} --issuer <issuer>`;
  return undefined;
}
