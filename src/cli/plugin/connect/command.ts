// `connect <kind>/<name>`: writes the CA, the client certificate and the
// password file to a private temp dir (0700, files 0600) and prints the psql
// line, or with --run runs it (and removes the files afterwards).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusCode } from '../../../kube/client.ts';
import { k8s } from '../../../kube/client-node.ts';
import { parseCertificate } from '../../../certs/pem.ts';
import { apiError, type PluginContext } from '../context.ts';
import { PluginError } from '../errors.ts';
import type { Target } from '../kinds.ts';
import { serialize, type OutputFormat } from '../output.ts';
import { reach, resolveVia, type Via } from '../reach.ts';
import { readDb } from '../status/gather.ts';
import { aliasSecrets, type DbObject } from '../status/model.ts';
import { commonName, conninfo, passfileLine, psqlArgv, psqlLine, type ConnectPlan } from './psql.ts';

export interface ConnectOptions {
  run?: boolean;
  command?: string[];
  dbname?: string;
  user?: string;
  psql?: string;
  output: OutputFormat;
  via: Via;
  /** Extra psql arguments (after --). */
  extra: string[];
}

type DbSpec = NonNullable<DbObject['spec']> & {
  authSecret?: { name?: string };
  database?: { databaseName?: string; databaseRef?: { name?: string; namespace?: string } };
  postgresRef?: { name?: string; namespace?: string };
};

async function secretData(ctx: PluginContext, namespace: string, name: string, what: string): Promise<Record<string, string>> {
  try {
    const s = await ctx.kube.api(k8s.CoreV1Api).readNamespacedSecret({ name, namespace });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch (err) {
    if (statusCode(err) === 404) throw new PluginError(`Secret ${namespace}/${name} (${what}) not found`);
    throw apiError(err, `Secret ${namespace}/${name} (${what})`);
  }
}

/** The Secret holding the login: the database's own for Postgres, the backend Postgres's for the poolers. */
function authSecretRef(t: Target, db: DbObject, namespace: string): { namespace: string; name: string; what: string } {
  const spec = (db.spec ?? {}) as DbSpec;
  if (t.kind.kind === 'Postgres') return { namespace, name: spec.authSecret?.name ?? `${t.name}-auth`, what: `auth secret of Postgres ${namespace}/${t.name}` };
  const ref = t.kind.kind === 'PgBouncer' ? spec.database?.databaseRef : spec.postgresRef;
  if (!ref?.name) throw new PluginError(`${t.kind.kind} ${namespace}/${t.name} names no backend Postgres (${t.kind.kind === 'PgBouncer' ? 'spec.database.databaseRef' : 'spec.postgresRef'})`);
  const ns = ref.namespace ?? namespace;
  return { namespace: ns, name: `${ref.name}-auth`, what: `auth secret of the backend Postgres ${ns}/${ref.name}` };
}

function defaultPsql(): string {
  if (spawnSync('psql', ['--version'], { stdio: 'ignore' }).status === 0) return 'psql';
  for (const v of ['18', '17', '16', '15']) {
    const p = `/usr/lib/postgresql/${v}/bin/psql`;
    if (existsSync(p)) return p;
  }
  throw new PluginError('no psql on PATH (install postgresql-client, or pass --psql <path>)');
}

async function servicePort(ctx: PluginContext, t: Target): Promise<number> {
  try {
    const svc = await ctx.kube.api(k8s.CoreV1Api).readNamespacedService({ name: t.name, namespace: ctx.namespace });
    const p = svc.spec?.ports?.[0]?.port;
    if (!p) throw new PluginError(`Service ${ctx.namespace}/${t.name} has no port`);
    return p;
  } catch (err) {
    if (err instanceof PluginError) throw err;
    if (statusCode(err) === 404) throw new PluginError(`Service ${ctx.namespace}/${t.name} of ${t.kind.kind} ${ctx.namespace}/${t.name} not found (is it provisioned? kubectl pgtls status ${t.kind.names[0]}/${t.name} -n ${ctx.namespace})`);
    throw apiError(err, `Service ${ctx.namespace}/${t.name}`);
  }
}

function writePrivate(dir: string, name: string, content: string): string {
  const f = join(dir, name);
  writeFileSync(f, content, { mode: 0o600 });
  chmodSync(f, 0o600); // whatever the umask
  return f;
}

export async function connectCommand(ctx: PluginContext, t: Target, o: ConnectOptions): Promise<number> {
  const db = await readDb(ctx, t);
  const spec = (db.spec ?? {}) as DbSpec;
  const tlsOn = !!spec.tls?.issuerRef;
  const sslmode = tlsOn ? spec.sslMode ?? 'verify-full' : 'disable';
  const clientAuthMode = t.kind.kind === 'PgBouncer' ? spec.connectionPool?.authType ?? 'md5' : spec.clientAuthMode ?? 'md5';
  const port = await servicePort(ctx, t);
  const how = await resolveVia(ctx, o.via);

  const dir = mkdtempSync(join(tmpdir(), `pgtls-connect-${t.name}-`));
  chmodSync(dir, 0o700);
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  let forward: { close(): Promise<void> } | undefined;
  try {
    const plan: ConnectPlan = { host: `${t.name}.${ctx.namespace}.svc`, hostaddr: '127.0.0.1', port, dbname: o.dbname ?? 'postgres', user: o.user ?? 'postgres', sslmode };
    if (t.kind.kind === 'PgBouncer' && spec.database?.databaseName && !o.dbname) plan.dbname = spec.database.databaseName;

    let certUser: string | undefined;
    if (tlsOn) {
      const aliases = aliasSecrets(db);
      const server = aliases.find((a) => a.alias === 'server')!;
      const serverData = await secretData(ctx, ctx.namespace, server.secretName, 'server certificate');
      if (!serverData['ca.crt']) throw new PluginError(`Secret ${ctx.namespace}/${server.secretName} has no ca.crt`);
      plan.sslrootcert = writePrivate(dir, 'ca.crt', serverData['ca.crt']);
      const client = aliases.find((a) => a.alias === 'client');
      if (client) {
        const c = await secretData(ctx, ctx.namespace, client.secretName, 'client certificate');
        if (c['tls.crt'] && c['tls.key']) {
          plan.sslcert = writePrivate(dir, 'client.crt', c['tls.crt']);
          plan.sslkey = writePrivate(dir, 'client.key', c['tls.key']);
          certUser = commonName(parseCertificate(c['tls.crt']).subject);
        } else if (clientAuthMode === 'cert') throw new PluginError(`Secret ${ctx.namespace}/${client.secretName} has no tls.crt/tls.key, and ${t.kind.kind} ${ctx.namespace}/${t.name} logs in by client certificate`);
      }
    }
    if (clientAuthMode === 'cert') {
      // The certificate is the login: its CN is the user, no password.
      if (!o.user && certUser) plan.user = certUser;
    } else {
      const ref = authSecretRef(t, db, ctx.namespace);
      const auth = await secretData(ctx, ref.namespace, ref.name, ref.what);
      if (!o.user && auth.username) plan.user = auth.username;
      if (auth.password === undefined) throw new PluginError(`Secret ${ref.namespace}/${ref.name} (${ref.what}) has no password key`);
      plan.passfile = writePrivate(dir, 'pgpass', passfileLine(plan.user, auth.password));
    }

    const psql = o.psql ?? defaultPsql();
    const extra = [...(o.command ?? []).flatMap((c) => ['-c', c]), ...o.extra];
    if (o.run) {
      const ep = await reach(ctx, { namespace: ctx.namespace, service: t.name, port }, how);
      forward = ep;
      const runPlan = { ...plan, hostaddr: ep.host, port: ep.port };
      return await runPsql(psql, psqlArgv(runPlan, extra));
    }
    let note: string | undefined;
    if (how === 'local') {
      const ep = await reach(ctx, { namespace: ctx.namespace, service: t.name, port }, how);
      plan.hostaddr = ep.host;
      plan.port = ep.port;
    } else {
      note = `# this connects through a port-forward; keep one running: kubectl port-forward -n ${ctx.namespace} svc/${t.name} ${port}:${port}`;
    }
    if (o.output === 'table') {
      if (note) process.stderr.write(`${note}\n`);
      process.stdout.write(`${psqlLine(plan, psql, extra)}\n`);
    } else {
      const files = Object.fromEntries(Object.entries({ sslrootcert: plan.sslrootcert, sslcert: plan.sslcert, sslkey: plan.sslkey, passfile: plan.passfile }).filter(([, v]) => v));
      process.stdout.write(serialize({ conninfo: conninfo(plan), command: [psql, ...psqlArgv(plan, extra)], files, dir, via: how, ...(note ? { note } : {}) }, o.output));
    }
    return 0;
  } finally {
    await forward?.close();
    if (o.run) cleanup();
  }
}

function runPsql(psql: string, argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(psql, argv, { stdio: 'inherit', env: { ...process.env, PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '10' } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGTERM', forward);
    child.on('error', (e) => {
      process.stderr.write(`kubectl pgtls connect: ${psql}: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code) => {
      process.off('SIGTERM', forward);
      resolve(code ?? 1);
    });
  });
}
