// Issue 4 figures: create → Ready (status.phase, as `kubectl get` shows it) for
// Postgres with 1 and 3 replicas, PgBouncer and Pgpool, without and with TLS,
// one at a time; then the operator's RSS with 20 Postgres databases.
import { readFileSync } from 'node:fs';
import { k8s } from '../src/kube/client-node.ts';
import { apply, caIssuer, setup, type Env } from '../test/e2e/fixtures/provisioner/harness.ts';
import { report } from './report.ts';

const NS = 'bench';
const TOTAL_PG = Number(process.env.BENCH_DATABASES ?? 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const storage = { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };
const issuerRef = { name: 'ca-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' };

const rssMiB = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
};

interface Case {
  name: string;
  plural: string;
  version: string;
  obj: object;
}

const pg = (name: string, replicas: number, tls: boolean): Case => ({
  name,
  plural: 'postgreses',
  version: 'v1',
  obj: {
    apiVersion: 'kubedb.com/v1',
    kind: 'Postgres',
    metadata: { name, namespace: NS },
    spec: { version: '15', replicas, storageType: 'Durable', storage, deletionPolicy: 'WipeOut', ...(tls ? { sslMode: 'verify-full', clientAuthMode: 'md5', tls: { issuerRef } } : {}) },
  },
});
const pb = (name: string, backend: string, tls: boolean): Case => ({
  name,
  plural: 'pgbouncers',
  version: 'v1',
  obj: {
    apiVersion: 'kubedb.com/v1',
    kind: 'PgBouncer',
    metadata: { name, namespace: NS },
    spec: {
      version: '1.18.0',
      database: { syncUsers: true, databaseName: 'postgres', databaseRef: { name: backend, namespace: NS } },
      connectionPool: { port: 5432, authType: 'md5' },
      deletionPolicy: 'WipeOut',
      ...(tls ? { sslMode: 'verify-full', tls: { issuerRef } } : {}),
    },
  },
});
const pp = (name: string, backend: string, tls: boolean): Case => ({
  name,
  plural: 'pgpools',
  version: 'v1alpha2',
  obj: {
    apiVersion: 'kubedb.com/v1alpha2',
    kind: 'Pgpool',
    metadata: { name, namespace: NS },
    spec: { version: '4.3.5', postgresRef: { name: backend, namespace: NS }, deletionPolicy: 'WipeOut', ...(tls ? { sslMode: 'require', clientAuthMode: 'md5', tls: { issuerRef } } : {}) },
  },
});

async function phase(env: Env, c: Pick<Case, 'name' | 'plural' | 'version'>): Promise<string | undefined> {
  const o = (await env.c.kube
    .api(k8s.CustomObjectsApi)
    .getNamespacedCustomObject({ group: 'kubedb.com', version: c.version, namespace: NS, plural: c.plural, name: c.name })) as { status?: { phase?: string } };
  return o.status?.phase;
}

async function untilReady(env: Env, c: Pick<Case, 'name' | 'plural' | 'version'>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await phase(env, c).catch(() => undefined)) === 'Ready') return;
    await sleep(100);
  }
  throw new Error(`${c.plural}/${c.name} not Ready after ${timeoutMs / 1000}s`);
}

const env = await setup(NS, { operator: 'process' });
const createToReady: Record<string, number> = {};
let rss: { databases: { postgres: number; pgbouncer: number; pgpool: number }; pods: number; rss_mib_idle_before: number; rss_mib: number[] } | undefined;
try {
  await caIssuer(env, NS, 'ca-issuer');
  const pid = env.operatorPid()!;
  await sleep(3000);
  const before = rssMiB(pid);
  // Backends first: a pooler's time then measures the pooler alone.
  const cases = [
    pg('pg1-plain', 1, false),
    pg('pg1-tls', 1, true),
    pg('pg3-plain', 3, false),
    pg('pg3-tls', 3, true),
    pb('pb-plain', 'pg1-plain', false),
    pb('pb-tls', 'pg1-tls', true),
    pp('pp-plain', 'pg1-plain', false),
    pp('pp-tls', 'pg1-tls', true),
  ];
  for (const c of cases) {
    const t = performance.now();
    await apply(env, c.obj);
    await untilReady(env, c, 300_000);
    createToReady[c.name] = Math.round(performance.now() - t) / 1000;
    process.stderr.write(`${c.name}: ${createToReady[c.name]} s\n`);
  }
  const existingPg = cases.filter((c) => c.plural === 'postgreses').length;
  const more = Array.from({ length: Math.max(0, TOTAL_PG - existingPg) }, (_, i) => pg(`rss-${i}`, 1, false));
  for (const c of more) await apply(env, c.obj);
  for (const c of more) await untilReady(env, c, 600_000);
  const samples: number[] = [];
  for (let i = 0; i < 10; i++) {
    samples.push(rssMiB(pid));
    await sleep(2000);
  }
  const pods = (await env.c.kube.api(k8s.CoreV1Api).listNamespacedPod({ namespace: NS })).items.length;
  rss = { databases: { postgres: existingPg + more.length, pgbouncer: 2, pgpool: 2 }, pods, rss_mib_idle_before: before, rss_mib: samples };
} finally {
  await env.destroy();
}

report(
  'provisioner',
  { create_to_ready_s: createToReady, operator: rss },
  `create→Ready ${Object.entries(createToReady)
    .map(([k, v]) => `${k} ${v}s`)
    .join(', ')}; operator RSS ${rss?.rss_mib_idle_before} MiB idle → ${rss ? Math.max(...rss.rss_mib) : '?'} MiB with ${rss?.databases.postgres} Postgres + 4 poolers`,
);
