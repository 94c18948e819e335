// The plugin's commands on the pgtls command line; the same program answers as
// `kubectl pgtls` (bin/kubectl-pgtls on PATH). Each action resolves the
// cluster, runs, and sets the exit code; errors are one line (see errors.ts).
import { Command, Option } from 'commander';
import { loadContext, type ConnectionFlags } from './context.ts';
import { EXIT, PluginError } from './errors.ts';
import { parseTarget } from './kinds.ts';
import { kubectlCommand } from './kubectl.ts';
import { parseOutput, serialize } from './output.ts';
import { parseVia } from './reach.ts';
import { gatherStatus } from './status/gather.ts';
import { renderStatus } from './status/render.ts';
import { connectCommand } from './connect/command.ts';
import { followCommand, tlsCommand, type RunOptions } from './tls/command.ts';
import { TLS_ACTIONS, type TlsAction, type TlsOptions } from './tls/request.ts';

interface CommonFlags extends ConnectionFlags {
  output?: string;
  via?: string;
}

/** The invoked name, for help and hints: `kubectl pgtls` when kubectl ran us. */
export function invokedAs(argv1 = process.argv[1] ?? ''): string {
  return /(^|\/)kubectl-pgtls$/.test(argv1) ? 'kubectl pgtls' : 'pgtls';
}

function withConnection(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <ns>', 'namespace of the object (default: the context\'s, else "default")')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, else the local cluster\'s ~/.pgtls/kubeconfig, else ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .addOption(new Option('--via <how>', 'how to reach pods: local (the pgtls cluster, loopback), port-forward (through the API server), auto').choices(['auto', 'local', 'port-forward']).default('auto'));
}

function withOutput(cmd: Command): Command {
  return cmd.addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'));
}

async function act(fn: () => Promise<number | void>): Promise<void> {
  try {
    const code = await fn();
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    if (err instanceof PluginError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}

/** `status <kind>/<name>`; without a target, the caller shows the local cluster. */
export async function dbStatusAction(target: string, f: CommonFlags): Promise<void> {
  await act(async () => {
    const t = parseTarget(target);
    const output = parseOutput(f.output);
    const ctx = loadContext(f);
    const m = await gatherStatus(ctx, t, parseVia(f.via));
    process.stdout.write(output === 'table' ? renderStatus(m) : serialize(m, output));
  });
}

/** Adds the connection and output options `status <kind>/<name>` understands. */
export function statusOptions(cmd: Command): Command {
  return withOutput(withConnection(cmd));
}

function parseDuration(v: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(v.trim());
  if (!m) throw new PluginError(`--wait-timeout ${v}: expected seconds or a duration like 90s, 10m`, EXIT.usage);
  return Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : 1000);
}

interface TlsFlags extends CommonFlags, TlsOptions {
  wait: boolean;
  waitTimeout: string;
}

function runOptions(f: TlsFlags): RunOptions {
  return { wait: f.wait, waitTimeoutMs: parseDuration(f.waitTimeout), output: parseOutput(f.output) };
}

const ACTION_HELP: Record<TlsAction, string> = {
  add: 'add TLS: certificates from --issuer, served by reload (KubeDB add-tls.yaml)',
  rotate: 'rotate the certificates: re-issued by the same issuer and served by reload (rotate-tls.yaml)',
  'change-issuer': 'move to another issuer (CA): trust both, serve the new, drop the old (change-issuer.yaml)',
  remove: 'remove TLS (remove-tls.yaml)',
};

export function registerPluginCommands(program: Command): void {
  const tls = program
    .command('tls')
    .description('reconfigure TLS of a Postgres, PgBouncer or Pgpool with a ReconfigureTLS ops request, and follow it to its end')
    .addHelpText('after', `\nExit codes: 0 Successful, 1 error, 2 bad usage, 3 Failed, 4 Skipped, 5 still running when --wait-timeout ran out.`);
  for (const action of TLS_ACTIONS) {
    const cmd = tls.command(action).argument('<kind/name>', 'e.g. pg/ha-postgres, pb/pb, pp/pgpool').description(ACTION_HELP[action]);
    if (action === 'add' || action === 'change-issuer') {
      cmd.requiredOption('--issuer <name>', 'the cert-manager Issuer (or ClusterIssuer) that signs the certificates');
      cmd.addOption(new Option('--issuer-kind <kind>', 'Issuer or ClusterIssuer').choices(['Issuer', 'ClusterIssuer']).default('Issuer'));
      cmd.option('--subject <alias=DN>', 'certificate subject for an alias, e.g. client=O=postgres,OU=client (repeatable)', (v: string, acc: string[] = []) => [...acc, v]);
    }
    if (action === 'add') cmd.option('--ssl-mode <mode>', 'sslMode: allow, prefer, require, verify-ca, verify-full (default verify-full)');
    if (action === 'add' || action === 'remove') cmd.option('--client-auth-mode <mode>', 'clientAuthMode (Postgres, Pgpool: md5, scram, cert; PgBouncer: md5, scram-sha-256)');
    cmd
      .option('--name <name>', 'name of the ops request (default: generated, <db>-<action>-tls-xxxxx)')
      .option('--timeout <duration>', 'spec.timeout, per step (e.g. 5m)')
      .addOption(new Option('--apply <when>', 'spec.apply').choices(['IfReady', 'Always']))
      .option('--no-wait', 'return once the request is created')
      .option('--wait-timeout <duration>', 'stop following after this long (the request goes on)', '15m');
    withOutput(withConnection(cmd)).action(async (target: string, f: TlsFlags) =>
      act(async () => {
        const t = parseTarget(target);
        const r = runOptions(f);
        const o: TlsOptions = { issuer: f.issuer, issuerKind: f.issuer ? f.issuerKind : undefined, sslMode: f.sslMode, clientAuthMode: f.clientAuthMode, subject: f.subject, name: f.name, timeout: f.timeout, apply: f.apply };
        return tlsCommand(loadContext(f), t, action, o, r);
      }),
    );
  }
  withOutput(withConnection(tls.command('follow').argument('<ops-kind/name>', 'e.g. pgops/add-tls').description('follow an existing ops request to its end')))
    .option('--wait-timeout <duration>', 'stop following after this long', '15m')
    .action(async (target: string, f: TlsFlags) => act(() => followCommand(loadContext(f), target, { ...runOptions({ ...f, wait: true }) })));

  withOutput(
    withConnection(
      program
        .command('connect')
        .argument('<kind/name>', 'e.g. pg/ha-postgres')
        .argument('[psql-args...]', 'more psql arguments, after --')
        .description('print the psql line (sslmode, CA, client certificate, password file in a private temp dir), or run it with --run'),
    ),
  )
    .option('--run', 'run psql instead of printing the line (the files are removed afterwards)')
    .option('-c, --command <sql>', 'with --run: psql -c (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('-d, --dbname <name>', 'database (default: postgres; PgBouncer: its spec.database.databaseName)')
    .option('-U, --user <name>', 'user (default: the client certificate\'s CN with clientAuthMode cert, else the auth secret\'s username)')
    .option('--psql <path>', 'psql binary (default: psql on PATH)')
    .action(async (target: string, extra: string[], f: CommonFlags & { run?: boolean; command?: string[]; dbname?: string; user?: string; psql?: string }) =>
      act(async () => {
        const t = parseTarget(target);
        if (f.command?.length && !f.run) throw new PluginError('-c/--command needs --run', EXIT.usage);
        return connectCommand(loadContext(f), t, { run: f.run, command: f.command, dbname: f.dbname, user: f.user, psql: f.psql, output: parseOutput(f.output), via: parseVia(f.via), extra });
      }),
    );

  program
    .command('kubectl')
    .description('run kubectl of the server\'s version (built with the control plane); KUBECONFIG defaults to the local cluster\'s')
    .argument('[args...]', 'kubectl arguments')
    .helpOption(false)
    .allowUnknownOption()
    .passThroughOptions()
    .action(async (args: string[]) => act(() => kubectlCommand(args)));
}
