// `tls add|rotate|change-issuer|remove <kind>/<name>`: checks, writes the
// ReconfigureTLS ops request, and follows it to its end (unless --no-wait).
// `tls follow <ops-kind>/<name>`: follows an existing one.
import { apiError, type PluginContext } from '../context.ts';
import { EXIT, PluginError } from '../errors.ts';
import { KINDS, OPS_API_VERSION, type DbKind, type Target } from '../kinds.ts';
import { serialize, type OutputFormat } from '../output.ts';
import { readDb } from '../status/gather.ts';
import { followOps } from './follow.ts';
import { buildTlsRequest, notApplicable, type TlsAction, type TlsOptions } from './request.ts';

export interface RunOptions {
  wait: boolean;
  waitTimeoutMs: number;
  output: OutputFormat;
}

async function issuerExists(ctx: PluginContext, kind: string, name: string): Promise<boolean> {
  try {
    return !!(await ctx.kube.get('cert-manager.io/v1', kind, name, kind === 'Issuer' ? ctx.namespace : undefined));
  } catch {
    return true; // cannot tell (no permission, no discovery): let the operator judge
  }
}

export async function tlsCommand(ctx: PluginContext, t: Target, action: TlsAction, o: TlsOptions, r: RunOptions): Promise<number> {
  const request = buildTlsRequest(t.kind, ctx.namespace, t.name, action, o);
  const db = await readDb(ctx, t);
  const why = notApplicable(t.kind, db, action, ctx.namespace);
  if (why) throw new PluginError(why);
  if (o.issuer) {
    const kind = o.issuerKind ?? 'Issuer';
    if (!(await issuerExists(ctx, kind, o.issuer))) {
      throw new PluginError(`${kind} ${kind === 'Issuer' ? `${ctx.namespace}/` : ''}${o.issuer} not found (kubectl get ${kind.toLowerCase()}s${kind === 'Issuer' ? ` -n ${ctx.namespace}` : ''})`);
    }
  }
  let created: { metadata?: { name?: string } };
  try {
    created = await ctx.kube.create(request as { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string } });
  } catch (err) {
    throw apiError(err, `creating the ${t.kind.opsKind} for ${t.kind.kind} ${ctx.namespace}/${t.name}`);
  }
  const name = created.metadata!.name!;
  const human = r.output === 'table' ? process.stdout : process.stderr;
  human.write(`${t.kind.opsPlural.replace(/s$/, '')}.ops.kubedb.com/${name} created\n`);
  if (!r.wait) {
    if (r.output !== 'table') process.stdout.write(serialize(created, r.output));
    return EXIT.ok;
  }
  return follow(ctx, t.kind, name, r);
}

async function follow(ctx: PluginContext, kind: DbKind, name: string, r: RunOptions): Promise<number> {
  const out = r.output === 'table' ? process.stdout : process.stderr;
  const res = await followOps(ctx, kind.opsKind, name, { timeoutMs: r.waitTimeoutMs, out, live: !!out.isTTY && process.env.TERM !== 'dumb' });
  if (r.output !== 'table') process.stdout.write(serialize({ ...res.view, request: res.op }, r.output));
  return res.exitCode;
}

/** `pgops/add-tls`, `postgresopsrequest/add-tls`, … */
export function parseOpsTarget(text: string): { kind: DbKind; name: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text.trim());
  const k = m?.[1]?.toLowerCase();
  const kind = KINDS.find((x) => k && [x.opsShortName, x.opsKind.toLowerCase(), x.opsPlural, `${x.opsPlural}.ops.kubedb.com`].includes(k));
  if (!m || !kind) throw new PluginError(`"${text}" is not <ops-kind>/<name>; ops kinds: ${KINDS.map((x) => `${x.opsShortName} (${x.opsKind})`).join(', ')}`, 2);
  return { kind, name: m[2]! };
}

export async function followCommand(ctx: PluginContext, text: string, r: RunOptions): Promise<number> {
  const { kind, name } = parseOpsTarget(text);
  const op = await ctx.kube.get(OPS_API_VERSION, kind.opsKind, name, ctx.namespace).catch((err: unknown) => {
    throw apiError(err, `${kind.opsKind} ${ctx.namespace}/${name}`);
  });
  if (!op) throw new PluginError(`${kind.opsKind} ${ctx.namespace}/${name} not found (kubectl get ${kind.opsShortName} -n ${ctx.namespace})`);
  return follow(ctx, kind, name, r);
}
