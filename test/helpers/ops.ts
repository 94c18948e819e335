// Helpers for the ReconfigureTLS flows: guide fixtures, waiting for an ops
// request, the certificate a pod serves, and pgbench under load.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { k8s } from '../../src/kube/client-node.ts';
import { probeTls } from '../../src/engines/shared/probe.ts';
import { localAddress } from '../../src/local/node/resolve.ts';
import type { TestCluster } from './cluster.ts';
import { eventually, sleep } from './exec.ts';
import { makeCa, tmpDir, writeSecretFiles } from './tls.ts';

export const FIXTURES = join(import.meta.dirname, '..', 'e2e', 'fixtures');
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

export interface OpsStatus {
  phase?: string;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

export async function opsStatus(c: TestCluster, resource: string, ns: string, name: string): Promise<OpsStatus> {
  const out = await c.kubectlOk(['-n', ns, 'get', resource, name, '-o', 'json']);
  return (JSON.parse(out) as { status?: OpsStatus }).status ?? {};
}

/** Waits for a terminal phase and returns the status; the time it took is in `ms`. */
export async function waitOps(c: TestCluster, resource: string, ns: string, name: string, timeoutMs = 180_000): Promise<OpsStatus & { ms: number }> {
  const t0 = Date.now();
  const st = await eventually(
    `${resource} ${name} to finish`,
    async () => {
      const s = await opsStatus(c, resource, ns, name);
      return s.phase === 'Successful' || s.phase === 'Failed' || s.phase === 'Skipped' ? s : undefined;
    },
    timeoutMs,
    250,
  );
  return { ...st, ms: Date.now() - t0 };
}

export async function secretFiles(c: TestCluster, ns: string, name: string): Promise<Record<string, string>> {
  const s = await c.kube.api(k8s.CoreV1Api).readNamespacedSecret({ name, namespace: ns });
  return writeSecretFiles(tmpDir(), s.data ?? {});
}

export async function secretText(c: TestCluster, ns: string, name: string, key: string): Promise<string> {
  const s = await c.kube.api(k8s.CoreV1Api).readNamespacedSecret({ name, namespace: ns });
  return Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
}

/** Serial of the certificate a pod serves on the wire, or 'no-ssl'. */
export async function servedSerial(c: TestCluster, ns: string, pod: string, port: number): Promise<string> {
  const a = await localAddress(c.kube, { namespace: ns, pod, port });
  const r = await probeTls({ host: a.host, port: a.port }, { timeoutMs: 3000 });
  if (r.kind === 'tls') return r.serial;
  if (r.kind === 'no-ssl') return 'no-ssl';
  throw new Error(`probe of ${pod}: ${r.error}`);
}

export async function podUids(c: TestCluster, ns: string, selector: string): Promise<Record<string, string>> {
  const pods = await c.kube.api(k8s.CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: selector });
  return Object.fromEntries(pods.items.map((p) => [p.metadata!.name!, `${p.metadata!.uid}/${p.status?.containerStatuses?.map((s) => s.restartCount).join(',')}`]));
}

export interface PgbenchResult {
  code: number;
  transactions: number;
  failed: number;
  aborted: number;
  output: string;
}

/** Runs pgbench (bounded by -T) with libpq env; counts processed, failed and aborted. */
export function pgbench(args: string[], env: NodeJS.ProcessEnv): Promise<PgbenchResult> {
  return new Promise((resolve) => {
    const p = spawn(join(PG_BIN, 'pgbench'), args, { env: { ...process.env, ...env } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => {
      const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
      resolve({
        code: code ?? 1,
        transactions: num(/number of transactions actually processed: (\d+)/),
        failed: num(/number of failed transactions: (\d+)/),
        aborted: (out.match(/client \d+ aborted/g) ?? []).length,
        output: out,
      });
    });
  });
}

/** libpq env to reach a Service with verify-full: host is the DNS name, hostaddr the loopback address. */
export async function libpqEnv(c: TestCluster, ns: string, service: string, port: number, tls?: { ca: string; cert?: string; key?: string }, password?: string): Promise<NodeJS.ProcessEnv> {
  const a = await localAddress(c.kube, { namespace: ns, service, port });
  const env: NodeJS.ProcessEnv = { PGHOST: `${service}.${ns}.svc`, PGHOSTADDR: a.host, PGPORT: String(a.port), PGUSER: 'postgres', PGDATABASE: 'postgres', PGCONNECT_TIMEOUT: '5' };
  if (password) env.PGPASSWORD = password;
  if (tls) {
    env.PGSSLMODE = 'verify-full';
    env.PGSSLROOTCERT = tls.ca;
    if (tls.cert) env.PGSSLCERT = tls.cert;
    if (tls.key) env.PGSSLKEY = tls.key;
  } else env.PGSSLMODE = 'disable';
  return env;
}

export function writeBundle(...pems: string[]): string {
  const f = join(tmpDir(), 'bundle.crt');
  writeFileSync(f, pems.join('\n'));
  return f;
}

/**
 * CA Issuers as the guides make them: per [secret, issuer, subject], a fresh CA
 * in a TLS Secret and an Issuer of kind CA on it. Returns each CA's PEM by issuer name.
 */
export async function createCaIssuers(c: TestCluster, ns: string, cas: readonly (readonly [secret: string, issuer: string, subject: string])[]): Promise<Record<string, string>> {
  const pems: Record<string, string> = {};
  const issuers: object[] = [];
  for (const [secret, issuer, subj] of cas) {
    const ca = await makeCa(tmpDir(), subj);
    pems[issuer] = readFileSync(ca.crt, 'utf8');
    await c.kubectlOk(['create', 'secret', 'tls', secret, `--cert=${ca.crt}`, `--key=${ca.key}`, `--namespace=${ns}`]);
    issuers.push({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: issuer, namespace: ns }, spec: { ca: { secretName: secret } } });
  }
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: issuers }));
  return pems;
}

/** The guides' Postgres with 1 GiB of `standard` storage and WipeOut; `spec` adds to it. */
export function postgresManifest(name: string, ns: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'kubedb.com/v1',
    kind: 'Postgres',
    metadata: { name, namespace: ns },
    spec: { version: '15', storageType: 'Durable', storage: { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }, deletionPolicy: 'WipeOut', ...spec },
  });
}

export { sleep };
