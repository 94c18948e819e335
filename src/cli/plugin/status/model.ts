// `status <kind>/<name>` decided from what was read: the database, its pods,
// the certificate each pod served on the wire, and the Secrets of its
// certificate aliases. Pure: gather.ts reads, render.ts prints.
import { summarize } from '../../../certs/inspect.ts';
import type { ProbeResult } from '../../../engines/shared/probe.ts';
import type { DbKind } from '../kinds.ts';

export interface DbObject {
  metadata: { name?: string; namespace?: string };
  spec?: {
    version?: string;
    replicas?: number;
    sslMode?: string;
    clientAuthMode?: string;
    connectionPool?: { authType?: string; port?: number };
    tls?: {
      issuerRef?: { kind?: string; name?: string; apiGroup?: string };
      certificates?: { alias: string; secretName?: string; issuerRef?: { kind?: string; name?: string } }[];
    };
  };
  status?: { phase?: string; conditions?: { type: string; status: string; message?: string }[] };
}

export interface RawPod {
  name: string;
  labels: Record<string, string>;
  phase: string;
  readyContainers: number;
  containers: number;
  restarts: number;
  deleting: boolean;
  port: number;
}

export interface RawAlias {
  alias: string;
  secretName: string;
  /** undefined: the Secret does not exist (yet). */
  secret?: { 'tls.crt'?: string; 'ca.crt'?: string };
  /** The cert-manager Certificate's Ready condition, when there is one. */
  certificateReady?: { status: string; message?: string };
}

export interface StatusInput {
  kind: DbKind;
  db: DbObject;
  pods: RawPod[];
  served: Record<string, ProbeResult>;
  aliases: RawAlias[];
  via: 'local' | 'port-forward';
}

export interface CertView {
  serial: string;
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  dnsNames: string[];
  ipAddresses: string[];
  fingerprint256: string;
}

export type Served = ({ kind: 'tls'; protocol: string | null } & CertView) | { kind: 'no-ssl' } | { kind: 'error'; error: string };

export interface PodStatus {
  name: string;
  role: string;
  ready: boolean;
  readyContainers: string;
  status: string;
  restarts: number;
  port: number;
  served: Served;
  /** Served certificate == the server alias Secret's tls.crt; null when TLS is off and none is served. */
  matchesSecret: boolean | null;
  mismatch?: string;
}

export interface AliasStatus {
  alias: string;
  secretName: string;
  present: boolean;
  certificate?: CertView;
  certificateReady?: string;
  /** Only the server alias is served on the database port: how many pods serve exactly this Secret. */
  servedBy?: { pods: number; of: number };
}

export interface StatusModel {
  kind: string;
  namespace: string;
  name: string;
  version: string;
  replicas: number;
  phase: string;
  tls: { enabled: boolean; sslMode: string; clientAuthMode: string; issuer?: string };
  via: 'local' | 'port-forward';
  pods: PodStatus[];
  certificates: AliasStatus[];
}

const DEFAULT_ALIASES = ['server', 'client'];

/** The aliases a TLS database has, with KubeDB's default secret names `<db>-<alias>-cert`. */
export function aliasSecrets(db: DbObject): { alias: string; secretName: string }[] {
  const tls = db.spec?.tls;
  if (!tls?.issuerRef) return [];
  const name = db.metadata.name!;
  const out = new Map<string, string>();
  for (const a of DEFAULT_ALIASES) out.set(a, `${name}-${a}-cert`);
  for (const c of tls.certificates ?? []) out.set(c.alias, c.secretName || `${name}-${c.alias}-cert`);
  return [...out].map(([alias, secretName]) => ({ alias, secretName }));
}

/** KubeDB's role label when the provisioner sets it; otherwise ordinal 0 is the Postgres primary. */
export function podRole(kind: DbKind, pod: Pick<RawPod, 'name' | 'labels'>): string {
  const label = pod.labels['kubedb.com/role'];
  if (label) return label;
  if (kind.kind !== 'Postgres') return '-';
  return /-0$/.test(pod.name) ? 'primary' : 'standby';
}

export function certView(pem: string): CertView {
  const s = summarize(pem);
  return {
    serial: s.serial,
    subject: s.subject,
    issuer: s.issuer,
    notBefore: s.notBefore.toISOString(),
    notAfter: s.notAfter.toISOString(),
    dnsNames: s.dnsNames,
    ipAddresses: s.ipAddresses,
    fingerprint256: s.fingerprint256,
  };
}

function servedView(r: ProbeResult | undefined): Served {
  if (!r) return { kind: 'error', error: 'not probed' };
  if (r.kind === 'tls') return { kind: 'tls', protocol: r.protocol, ...certView(r.certPem) };
  return r;
}

function ordinal(name: string): number {
  const m = /-(\d+)$/.exec(name);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

export function buildStatus(input: StatusInput): StatusModel {
  const { kind, db } = input;
  const spec = db.spec ?? {};
  const tlsOn = !!spec.tls?.issuerRef;
  const issuerRef = spec.tls?.issuerRef;
  const aliasViews: AliasStatus[] = input.aliases.map((a) => {
    const pem = a.secret?.['tls.crt'];
    let certificate: CertView | undefined;
    try {
      certificate = pem ? certView(pem) : undefined;
    } catch {
      certificate = undefined; // an unreadable tls.crt shows as missing
    }
    return {
      alias: a.alias,
      secretName: a.secretName,
      present: !!a.secret,
      ...(certificate ? { certificate } : {}),
      ...(a.certificateReady ? { certificateReady: a.certificateReady.status === 'True' ? 'Ready' : `not ready${a.certificateReady.message ? `: ${a.certificateReady.message}` : ''}` } : {}),
    };
  });
  const server = aliasViews.find((a) => a.alias === 'server');
  const pods: PodStatus[] = [...input.pods]
    .sort((a, b) => ordinal(a.name) - ordinal(b.name) || a.name.localeCompare(b.name))
    .map((p) => {
      const served = servedView(input.served[p.name]);
      let matchesSecret: boolean | null = null;
      let mismatch: string | undefined;
      if (tlsOn) {
        if (served.kind === 'tls' && server?.certificate) {
          matchesSecret = served.fingerprint256 === server.certificate.fingerprint256;
          if (!matchesSecret) mismatch = `the Secret ${server.secretName} holds serial ${server.certificate.serial}`;
        } else {
          matchesSecret = false;
          mismatch = served.kind === 'no-ssl' ? 'serves no TLS' : served.kind === 'error' ? `not reachable: ${served.error}` : `the Secret ${server?.secretName ?? '(server)'} has no certificate`;
        }
      } else if (served.kind === 'tls') {
        matchesSecret = false;
        mismatch = 'serves TLS although the database has none configured';
      }
      return {
        name: p.name,
        role: podRole(kind, p),
        ready: p.readyContainers === p.containers && p.containers > 0,
        readyContainers: `${p.readyContainers}/${p.containers}`,
        status: p.deleting ? 'Terminating' : p.phase,
        restarts: p.restarts,
        port: p.port,
        served,
        matchesSecret,
        ...(mismatch ? { mismatch } : {}),
      };
    });
  if (server?.certificate) {
    server.servedBy = { pods: pods.filter((p) => p.served.kind === 'tls' && p.served.fingerprint256 === server.certificate!.fingerprint256).length, of: pods.length };
  }
  const clientAuthMode = kind.kind === 'PgBouncer' ? spec.connectionPool?.authType ?? 'md5' : spec.clientAuthMode ?? '-';
  return {
    kind: kind.kind,
    namespace: db.metadata.namespace!,
    name: db.metadata.name!,
    version: spec.version ?? '-',
    replicas: spec.replicas ?? 1,
    phase: db.status?.phase ?? 'Unknown',
    tls: {
      enabled: tlsOn,
      sslMode: spec.sslMode ?? (tlsOn ? 'verify-full' : 'disable'),
      clientAuthMode,
      ...(issuerRef ? { issuer: `${issuerRef.kind ?? 'Issuer'}/${issuerRef.name}` } : {}),
    },
    via: input.via,
    pods,
    certificates: aliasViews,
  };
}
