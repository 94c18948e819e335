// Issue 5 figures: ops request created → Successful for each guide flow, and
// failed/aborted pgbench transactions during it, against a real local cluster.
// KubeDB's guides show 3m10s to rotate a 3-replica Postgres, 1m49s for
// PgBouncer and 1m53s for Pgpool (every pod restarted).
import { readFileSync } from 'node:fs';
import { startTestCluster } from '../test/helpers/cluster.ts';
import { eventually, runOk } from '../test/helpers/exec.ts';
import { makeCa, tmpDir } from '../test/helpers/tls.ts';
import { createCaIssuers, fixture, libpqEnv, pgbench, PG_BIN, secretFiles, waitOps, writeBundle } from '../test/helpers/ops.ts';
import { join } from 'node:path';
import { report } from './report.ts';

const NS = 'demo';
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);

// The operator as a host process, as the README figures were measured.
const c = await startTestCluster({ operator: true });
const results: Record<string, { ms: number[]; transactions: number[]; failed: number[]; aborted: number[] }> = {};
try {
  await c.kubectlOk(['create', 'namespace', NS]);
  const ca1 = await makeCa(tmpDir(), '/CN=ca/O=kubedb');
  const ca2 = await makeCa(tmpDir(), '/CN=ca-updated/O=kubedb-updated');
  const pems = [readFileSync(ca1.crt, 'utf8'), readFileSync(ca2.crt, 'utf8')];
  await c.kubectlOk(['create', 'secret', 'tls', 'postgres-ca', `--cert=${ca1.crt}`, `--key=${ca1.key}`, `-n`, NS]);
  await c.kubectlOk(['create', 'secret', 'tls', 'postgres-new-ca', `--cert=${ca2.crt}`, `--key=${ca2.key}`, `-n`, NS]);
  const issuer = (name: string, secret: string) => ({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name, namespace: NS }, spec: { ca: { secretName: secret } } });
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [issuer('pg-issuer', 'postgres-ca'), issuer('pg-new-issuer', 'postgres-new-ca')] }));
  await c.kubectlOk(['apply', '-f', '-'], fixture('postgres-ha-postgres.yaml'));
  await eventually('ha-postgres Ready', async () => (await c.kubectlOk(['-n', NS, 'get', 'pg', 'ha-postgres', '-o', 'jsonpath={.status.phase}'])) === 'Ready', 300_000, 1000);

  const run = async (flow: string, file: string, name: string, tls: 'none' | 'cert') => {
    let env = await libpqEnv(c, NS, 'ha-postgres', 5432, undefined, undefined);
    if (tls === 'cert') {
      const f = await secretFiles(c, NS, 'ha-postgres-client-cert');
      env = await libpqEnv(c, NS, 'ha-postgres', 5432, { ca: writeBundle(...pems), cert: f['tls.crt']!, key: f['tls.key']! });
    } else {
      const pw = (await secretFiles(c, NS, 'ha-postgres-auth'))['password']!;
      env.PGPASSWORD = readFileSync(pw, 'utf8');
    }
    await runOk(join(PG_BIN, 'pgbench'), ['-i', '-s', '1', '-q'], { env: { ...process.env, ...env } });
    const bench = pgbench(['-n', '-c', '4', '-j', '2', '-T', '15', '-S'], env);
    await new Promise((r) => setTimeout(r, 1000));
    await c.kubectlOk(['apply', '-f', '-'], fixture(file).replace(/name: [a-z-]+\n {2}namespace: demo/, `name: ${name}\n  namespace: demo`));
    const st = await waitOps(c, 'pgops', NS, name);
    if (st.phase !== 'Successful') throw new Error(`${name}: ${st.phase} ${JSON.stringify(st.conditions)}`);
    const b = await bench;
    const r = (results[`postgres/${flow}`] ??= { ms: [], transactions: [], failed: [], aborted: [] });
    r.ms.push(st.ms);
    r.transactions.push(b.transactions);
    r.failed.push(b.failed);
    r.aborted.push(b.aborted);
  };
  for (let i = 0; i < rounds; i++) {
    await run('add-tls', 'postgres-add-tls.yaml', `add-${i}`, 'none');
    await run('rotate', 'postgres-rotate-tls.yaml', `rotate-${i}`, 'cert');
    await run('change-issuer', 'postgres-change-issuer.yaml', `change-${i}`, 'cert');
    await run('remove-tls', 'postgres-remove-tls.yaml', `remove-${i}`, 'cert');
    // Back to the first issuer for the next round's add.
    await c.kubectlOk(['-n', NS, 'patch', 'pg', 'ha-postgres', '--type=merge', '-p', '{"spec":{"tls":null}}']).catch(() => undefined);
  }
  // PgBouncer (reload) and Pgpool (restart) in front of the plain ha-postgres.
  await c.kubectlOk(['-n', NS, 'patch', 'pg', 'ha-postgres', '--type=merge', '-p', '{"spec":{"replicas":3}}']).catch(() => undefined);
  const poolerCas = Object.values(await createCaIssuers(c, NS, [
    ['pgbouncer-ca', 'pb-issuer', '/CN=pgbouncer/O=kubedb'],
    ['pgbouncer-new-ca', 'pb-new-issuer', '/CN=pgbouncer/O=kubedb-updated'],
    ['pgpool-ca', 'pgpool-issuer', '/CN=ca/O=kubedb'],
    ['pgpool-new-ca', 'pp-new-issuer', '/CN=ca-updated/O=kubedb-updated'],
  ]));
  await c.kubectlOk(['apply', '-f', '-'], fixture('pgbouncer-pb-catalog.yaml'));
  await c.kubectlOk(['apply', '-f', '-'], fixture('pgpool-pgpool-catalog.yaml'));
  await eventually('pb and pgpool Ready', async () => (await c.kubectlOk(['-n', NS, 'get', 'pb,pp', '-o', 'jsonpath={.items[*].status.phase}'])) === 'Ready Ready', 180_000, 1000);
  const pw = readFileSync((await secretFiles(c, NS, 'ha-postgres-auth'))['password']!, 'utf8');
  const pooled = async (res: string, kind: string, flow: string, file: string, name: string, port: number, svc: string) => {
    let env = await libpqEnv(c, NS, svc, port, undefined, pw);
    const tlsOn = (await c.kubectlOk(['-n', NS, 'get', res.replace('ops', ''), svc, '-o', 'jsonpath={.spec.sslMode}'])) !== 'disable';
    if (tlsOn) {
      const f = await secretFiles(c, NS, `${svc}-client-cert`);
      env = await libpqEnv(c, NS, svc, port, { ca: writeBundle(...poolerCas), cert: f['tls.crt']!, key: f['tls.key']! }, pw);
      if (kind === 'pgpool') env.PGSSLMODE = 'require';
    }
    // PgBouncer: persistent pgbench clients; Pgpool: a new connection per transaction (-C), which shows the restart window.
    const bench = pgbench(['-n', '-c', '4', '-j', '2', '-T', '12', '-S', ...(kind === 'pgpool' ? ['-C'] : [])], env);
    await new Promise((r) => setTimeout(r, 1000));
    await c.kubectlOk(['apply', '-f', '-'], fixture(file));
    const st = await waitOps(c, res, NS, name);
    if (st.phase !== 'Successful') throw new Error(`${name}: ${st.phase} ${JSON.stringify(st.conditions)}`);
    const b = await bench;
    const r = (results[`${kind}/${flow}`] ??= { ms: [], transactions: [], failed: [], aborted: [] });
    r.ms.push(st.ms);
    r.transactions.push(b.transactions);
    r.failed.push(b.failed);
    r.aborted.push(b.aborted);
  };
  await runOk(join(PG_BIN, 'pgbench'), ['-i', '-s', '1', '-q'], { env: { ...process.env, ...(await libpqEnv(c, NS, 'ha-postgres', 5432, undefined, pw)) } });
  await pooled('pbops', 'pgbouncer', 'add-tls', 'pgbouncer-add-tls.yaml', 'add-tls', 5432, 'pb');
  await pooled('pbops', 'pgbouncer', 'rotate', 'pgbouncer-rotate-tls.yaml', 'rotate-tls', 5432, 'pb');
  await pooled('pbops', 'pgbouncer', 'change-issuer', 'pgbouncer-change-issuer.yaml', 'change-issuer', 5432, 'pb');
  await pooled('pbops', 'pgbouncer', 'remove-tls', 'pgbouncer-remove-tls.yaml', 'remove-tls', 5432, 'pb');
  await pooled('ppops', 'pgpool', 'add-tls', 'pgpool-add-tls.yaml', 'ppops-add-tls', 9999, 'pgpool');
  await pooled('ppops', 'pgpool', 'rotate', 'pgpool-rotate.yaml', 'ppops-rotate', 9999, 'pgpool');
  await pooled('ppops', 'pgpool', 'change-issuer', 'pgpool-change-issuer.yaml', 'ppops-change-issuer', 9999, 'pgpool');
  await pooled('ppops', 'pgpool', 'remove-tls', 'pgpool-remove.yaml', 'ppops-remove', 9999, 'pgpool');
} finally {
  await c.destroy();
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
report(
  'reconfigure-tls',
  { rounds, kubedb_reference_seconds: { 'postgres/rotate (3 replicas)': 190, 'pgbouncer/rotate': 109, 'pgpool/rotate': 113 }, flows: results },
  Object.entries(results)
    .map(([k, v]) => `${k} median ${(med(v.ms) / 1000).toFixed(1)}s, failed tx ${v.failed.reduce((a, b) => a + b, 0)}, aborted clients ${v.aborted.reduce((a, b) => a + b, 0)}`)
    .join('; '),
);
