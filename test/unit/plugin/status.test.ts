// status <kind>/<name>: the model from what was read, and its table.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { issueCa, issueLeaf, type IssuedCa, type KeyPairPem } from '../../../src/certs/issue.ts';
import { fingerprint256 } from '../../../src/certs/inspect.ts';
import type { ProbeResult } from '../../../src/engines/shared/probe.ts';
import { KINDS, parseTarget, podSelector } from '../../../src/cli/plugin/kinds.ts';
import { aliasSecrets, buildStatus, podRole, type DbObject, type RawPod } from '../../../src/cli/plugin/status/model.ts';
import { renderStatus } from '../../../src/cli/plugin/status/render.ts';
import { PluginError } from '../../../src/cli/plugin/errors.ts';

const pg = KINDS.find((k) => k.kind === 'Postgres')!;
const pb = KINDS.find((k) => k.kind === 'PgBouncer')!;

function pod(name: string, extra: Partial<RawPod> = {}): RawPod {
  return { name, labels: {}, phase: 'Running', readyContainers: 1, containers: 1, restarts: 0, deleting: false, port: 5432, ...extra };
}

function served(cert: KeyPairPem): ProbeResult {
  return { kind: 'tls', certPem: cert.certPem, fingerprint256: fingerprint256(cert.certPem), serial: '', subject: '', issuer: '', notAfter: new Date(), protocol: 'TLSv1.3' };
}

const tlsDb: DbObject = {
  metadata: { name: 'ha-postgres', namespace: 'demo' },
  spec: {
    version: '18.3',
    replicas: 3,
    sslMode: 'verify-full',
    clientAuthMode: 'cert',
    tls: { issuerRef: { kind: 'Issuer', name: 'pg-issuer', apiGroup: 'cert-manager.io' }, certificates: [{ alias: 'client', secretName: 'my-client' }, { alias: 'metrics-exporter' }] },
  },
  status: { phase: 'Ready' },
};

describe('plugin: targets', () => {
  it('parses <kind>/<name> with every spelling of the three kinds', () => {
    assert.equal(parseTarget('pg/ha-postgres').kind.kind, 'Postgres');
    assert.equal(parseTarget('Postgres/ha-postgres').kind.kind, 'Postgres');
    assert.equal(parseTarget('pgbouncers.kubedb.com/pb').kind.kind, 'PgBouncer');
    assert.equal(parseTarget('pp/pgpool').kind.kind, 'Pgpool');
    assert.equal(parseTarget('pp/pgpool').name, 'pgpool');
  });

  it('names the allowed kinds when the target is wrong', () => {
    assert.throws(() => parseTarget('ha-postgres'), (e: PluginError) => e.exitCode === 2 && /not <kind>\/<name>; kinds: pg \(Postgres\), pb \(PgBouncer\), pp \(Pgpool\)/.test(e.message));
    assert.throws(() => parseTarget('mysql/x'), /unknown kind "mysql" in "mysql\/x"; kinds: pg \(Postgres\)/);
    assert.throws(() => parseTarget('pg/Bad_Name'), /"Bad_Name" is not a valid object name/);
  });

  it('selects pods by KubeDB\'s name and instance labels', () => {
    assert.equal(podSelector(pg, 'ha-postgres'), 'app.kubernetes.io/name=postgreses.kubedb.com,app.kubernetes.io/instance=ha-postgres');
  });
});

describe('plugin: status model and table', () => {
  let ca: IssuedCa;
  let server: KeyPairPem;
  let rotated: KeyPairPem;
  let client: KeyPairPem;
  before(async () => {
    ca = await issueCa({ commonName: 'ca', organizations: ['kubedb'] });
    [server, rotated, client] = await Promise.all([
      issueLeaf(ca, { commonName: 'ha-postgres', usage: 'server', dnsNames: ['ha-postgres.demo.svc', '*.ha-postgres-pods.demo.svc'], ipAddresses: ['127.0.0.1'], serial: '1a2b3c' }),
      issueLeaf(ca, { commonName: 'ha-postgres', usage: 'server', dnsNames: ['ha-postgres.demo.svc'], serial: '4d5e6f' }),
      issueLeaf(ca, { commonName: 'postgres', usage: 'client', serial: '0c0d' }),
    ]);
  });

  it('lists the aliases with KubeDB\'s default secret names, and none without TLS', () => {
    assert.deepEqual(aliasSecrets(tlsDb), [
      { alias: 'server', secretName: 'ha-postgres-server-cert' },
      { alias: 'client', secretName: 'my-client' },
      { alias: 'metrics-exporter', secretName: 'ha-postgres-metrics-exporter-cert' },
    ]);
    assert.deepEqual(aliasSecrets({ metadata: { name: 'x' }, spec: {} }), []);
  });

  it('gives the role label precedence, else ordinal 0 is the Postgres primary; poolers have no role', () => {
    assert.equal(podRole(pg, { name: 'ha-postgres-0', labels: {} }), 'primary');
    assert.equal(podRole(pg, { name: 'ha-postgres-1', labels: {} }), 'standby');
    assert.equal(podRole(pg, { name: 'ha-postgres-0', labels: { 'kubedb.com/role': 'standby' } }), 'standby');
    assert.equal(podRole(pb, { name: 'pb-0', labels: {} }), '-');
  });

  it('matches each pod\'s served certificate against the server Secret and says what differs', () => {
    const m = buildStatus({
      kind: pg,
      db: tlsDb,
      pods: [pod('ha-postgres-2'), pod('ha-postgres-0'), pod('ha-postgres-1', { readyContainers: 0 })],
      served: { 'ha-postgres-0': served(server), 'ha-postgres-1': served(rotated), 'ha-postgres-2': { kind: 'no-ssl' } },
      aliases: [
        { alias: 'server', secretName: 'ha-postgres-server-cert', secret: { 'tls.crt': server.certPem, 'ca.crt': ca.certPem }, certificateReady: { status: 'True' } },
        { alias: 'client', secretName: 'my-client', secret: { 'tls.crt': client.certPem } },
        { alias: 'metrics-exporter', secretName: 'ha-postgres-metrics-exporter-cert' },
      ],
      via: 'local',
    });
    assert.deepEqual(m.pods.map((p) => p.name), ['ha-postgres-0', 'ha-postgres-1', 'ha-postgres-2']);
    assert.deepEqual(m.pods.map((p) => p.matchesSecret), [true, false, false]);
    assert.equal(m.pods[1]!.mismatch, 'the Secret ha-postgres-server-cert holds serial 1A2B3C');
    assert.equal(m.pods[2]!.mismatch, 'serves no TLS');
    assert.equal(m.pods[1]!.ready, false);
    const p0 = m.pods[0]!.served;
    assert.equal(p0.kind, 'tls');
    if (p0.kind === 'tls') {
      assert.equal(p0.serial, '1A2B3C');
      assert.deepEqual(p0.dnsNames, ['ha-postgres.demo.svc', '*.ha-postgres-pods.demo.svc']);
      assert.deepEqual(p0.ipAddresses, ['127.0.0.1']);
      assert.equal(p0.issuer, 'CN=ca\nO=kubedb');
    }
    assert.deepEqual(m.certificates.find((a) => a.alias === 'server')!.servedBy, { pods: 1, of: 3 });
    assert.equal(m.certificates.find((a) => a.alias === 'metrics-exporter')!.present, false);
    assert.deepEqual(m.tls, { enabled: true, sslMode: 'verify-full', clientAuthMode: 'cert', issuer: 'Issuer/pg-issuer' });

    const text = renderStatus(m);
    const lines = text.split('\n');
    assert.equal(lines[0], 'Postgres demo/ha-postgres   version 18.3   replicas 3   phase Ready');
    assert.equal(lines[1], 'TLS: sslMode verify-full, clientAuthMode cert, issuer Issuer/pg-issuer');
    const row = (name: string) => lines.find((l) => l.startsWith(`${name} `))!.split(/\s{3,}/);
    assert.deepEqual(row('ha-postgres-0').slice(0, 7), ['ha-postgres-0', 'primary', '1/1', 'Running', '0', '1A2B3C', 'CN=ca, O=kubedb']);
    assert.equal(row('ha-postgres-0').at(-1), 'yes');
    assert.equal(row('ha-postgres-1').at(-1), 'NO: the Secret ha-postgres-server-cert holds serial 1A2B3C');
    assert.deepEqual(row('ha-postgres-2').slice(5), ['no TLS', '-', '-', 'NO: serves no TLS']);
    assert.ok(lines.includes('SANs served by ha-postgres-0: DNS:ha-postgres.demo.svc, DNS:*.ha-postgres-pods.demo.svc, IP:127.0.0.1'), text);
    assert.ok(lines.includes('SANs served by ha-postgres-1: DNS:ha-postgres.demo.svc'), text);
    const srv = lines.find((l) => l.startsWith('server '))!.split(/\s{3,}/);
    assert.deepEqual([srv[0], srv[1], srv[2], srv[5], srv[6]], ['server', 'ha-postgres-server-cert', '1A2B3C', 'Ready', '1/3 pods']);
    assert.match(lines.find((l) => l.startsWith('metrics-exporter '))!, /ha-postgres-metrics-exporter-cert\s+missing\s+-\s+-/);
    // Columns line up: every row of the pod table starts its SERIAL at the header's offset.
    const header = lines.find((l) => l.startsWith('POD '))!;
    for (const n of ['ha-postgres-0', 'ha-postgres-1']) assert.equal(lines.find((l) => l.startsWith(`${n} `))!.indexOf(n === 'ha-postgres-0' ? '1A2B3C' : '4D5E6F'), header.indexOf('SERIAL'));
  });

  it('a database without TLS: pods serving no TLS match (n/a), one serving TLS does not; no certificate table', () => {
    const m = buildStatus({
      kind: pg,
      db: { metadata: { name: 'pg', namespace: 'demo' }, spec: { version: '15', clientAuthMode: 'md5' }, status: { phase: 'Ready' } },
      pods: [pod('pg-0'), pod('pg-1', { phase: 'Pending', readyContainers: 0 }), pod('pg-2')],
      served: { 'pg-0': { kind: 'no-ssl' }, 'pg-1': { kind: 'error', error: 'pod is Pending' }, 'pg-2': served(server) },
      aliases: [],
      via: 'port-forward',
    });
    assert.deepEqual(m.pods.map((p) => p.matchesSecret), [null, null, false]);
    assert.equal(m.pods[2]!.mismatch, 'serves TLS although the database has none configured');
    const text = renderStatus(m);
    assert.match(text, /^TLS: off \(sslMode disable, clientAuthMode md5\)$/m);
    assert.match(text, /through a port-forward/);
    assert.match(text, /pg-1\s+standby\s+0\/1\s+Pending\s+0\s+unreachable \(pod is Pending\)\s+-\s+-\s+-$/m);
    assert.doesNotMatch(text, /Certificates \(from their Secrets\)/);
  });

  it('PgBouncer: clientAuthMode is connectionPool.authType', () => {
    const m = buildStatus({ kind: pb, db: { metadata: { name: 'pb', namespace: 'demo' }, spec: { connectionPool: { authType: 'scram-sha-256' } } }, pods: [], served: {}, aliases: [], via: 'local' });
    assert.equal(m.tls.clientAuthMode, 'scram-sha-256');
    assert.match(renderStatus(m), /No pods yet\./);
  });
});
