// The table view of `status <kind>/<name>`.
import { fmtTime, oneLineDn, table } from '../output.ts';
import type { CertView, PodStatus, StatusModel } from './model.ts';

export function sans(c: Pick<CertView, 'dnsNames' | 'ipAddresses'>): string {
  return [...c.dnsNames.map((d) => `DNS:${d}`), ...c.ipAddresses.map((i) => `IP:${i}`)].join(', ') || '(none)';
}

function matchText(p: PodStatus): string {
  if (p.matchesSecret === null) return '-';
  return p.matchesSecret ? 'yes' : `NO: ${p.mismatch ?? 'differs'}`;
}

function servedCells(p: PodStatus): [string, string, string] {
  switch (p.served.kind) {
    case 'tls':
      return [p.served.serial, oneLineDn(p.served.issuer), fmtTime(p.served.notAfter)];
    case 'no-ssl':
      return ['no TLS', '-', '-'];
    case 'error':
      return [`unreachable (${p.served.error})`, '-', '-'];
  }
}

export function renderStatus(m: StatusModel): string {
  const out: string[] = [];
  out.push(`${m.kind} ${m.namespace}/${m.name}   version ${m.version}   replicas ${m.replicas}   phase ${m.phase}`);
  out.push(
    m.tls.enabled
      ? `TLS: sslMode ${m.tls.sslMode}, clientAuthMode ${m.tls.clientAuthMode}, issuer ${m.tls.issuer}`
      : `TLS: off (sslMode ${m.tls.sslMode}, clientAuthMode ${m.tls.clientAuthMode})`,
  );
  out.push('');
  if (m.pods.length === 0) out.push('No pods yet.');
  else {
    const port = [...new Set(m.pods.map((p) => p.port))].join(',');
    out.push(`Served on port ${port}, read from the wire (SSLRequest + TLS handshake${m.via === 'port-forward' ? ', through a port-forward' : ''}):`);
    out.push(
      table(
        ['POD', 'ROLE', 'READY', 'STATUS', 'RESTARTS', 'SERIAL', 'ISSUER', 'NOT AFTER', 'MATCHES SECRET'],
        m.pods.map((p) => [p.name, p.role, p.readyContainers, p.status, String(p.restarts), ...servedCells(p), matchText(p)]),
      ),
    );
    // SANs are long: once per distinct served certificate, not once per pod.
    const bySerial = new Map<string, { view: CertView; pods: string[] }>();
    for (const p of m.pods) {
      if (p.served.kind !== 'tls') continue;
      const e = bySerial.get(p.served.fingerprint256) ?? { view: p.served, pods: [] };
      e.pods.push(p.name);
      bySerial.set(p.served.fingerprint256, e);
    }
    for (const { view, pods } of bySerial.values()) {
      const who = pods.length === m.pods.length ? (pods.length > 1 ? 'all pods' : pods[0]) : pods.join(', ');
      out.push(`SANs served by ${who}: ${sans(view)}`);
    }
  }
  if (m.certificates.length) {
    out.push('');
    out.push('Certificates (from their Secrets):');
    out.push(
      table(
        ['ALIAS', 'SECRET', 'SERIAL', 'ISSUER', 'NOT AFTER', 'CERTIFICATE', 'SERVED BY'],
        m.certificates.map((a) => [
          a.alias,
          a.secretName,
          a.certificate?.serial ?? (a.present ? 'no tls.crt' : 'missing'),
          a.certificate ? oneLineDn(a.certificate.issuer) : '-',
          fmtTime(a.certificate?.notAfter),
          a.certificateReady ?? '-',
          a.servedBy ? `${a.servedBy.pods}/${a.servedBy.of} pods` : '-',
        ]),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
