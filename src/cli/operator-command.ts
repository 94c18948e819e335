// The `operator` command's options, shared by the pgtls command line and the
// operator's own entry point (operator-main.ts, what its image runs).
import { type Command, InvalidArgumentError } from 'commander';
import { intArg } from './args.ts';
import type { OperatorOptions } from './operator.ts';
import { OWN_CLIENT_CA_POLICIES, type OwnClientCaPolicy } from '../provisioner/specs/client-ca.ts';

/** Concurrency: at least one worker, and a bound that a typo cannot blow through. */
function workersArg(v: string): number {
  const n = intArg(v);
  if (n < 1 || n > 64) throw new InvalidArgumentError('must be between 1 and 64');
  return n;
}

function resyncArg(v: string): number {
  const n = intArg(v);
  if (n < 1 || n > 3600) throw new InvalidArgumentError('must be between 1 and 3600 (seconds)');
  return n;
}

function ownClientCaArg(v: string): OwnClientCaPolicy {
  if (!(OWN_CLIENT_CA_POLICIES as readonly string[]).includes(v)) throw new InvalidArgumentError(`supported values: ${OWN_CLIENT_CA_POLICIES.join(', ')}`);
  return v as OwnClientCaPolicy;
}

/** A comma-separated list; empty items dropped, so "" is the empty list. */
function listArg(v: string): string[] {
  return v.split(',').map((x) => x.trim()).filter(Boolean);
}

export function registerOperatorCommand(program: Command, action: (o: OperatorOptions) => Promise<void>): void {
  program
    .command('operator')
    .description('run the operator (provisioner, ops-manager and admission webhook) against a cluster with cert-manager')
    .option('--kubeconfig <file>', 'kubeconfig to reach the cluster (default: in a pod, its ServiceAccount)')
    .option('--no-leader-elect', 'run without leader election (one replica only)')
    .option('--namespace <ns>', 'namespace of the webhook certificate objects and the leader Lease', 'pgtls-system')
    .option('--lease-namespace <ns>', 'namespace of the leader-election Lease (default: --namespace)')
    .option('--install-crds', 'apply the CRDs and the version catalog before starting')
    .option('--no-webhook', 'do not serve or register the admission webhook')
    .option('--webhook-host <ip>', 'address the webhook binds and, without --webhook-service, the URL the API server calls', '127.0.0.1')
    .option('--webhook-port <port>', 'webhook HTTPS port', intArg, 9443)
    .option('--webhook-service <ns/name>', 'in-cluster: register the webhook by this Service instead of a URL')
    .option('--webhook-service-port <port>', 'the Service port', intArg, 443)
    .option('--webhook-client-ca <file>', 'refuse admission reviews without a client certificate from this CA (the API server\'s AdmissionConfiguration client)')
    .option('--webhook-client-name <cn...>', 'with --webhook-client-ca: the accepted client certificate common names (default: any from that CA)')
    .option('--cert-dir <dir>', 'where the webhook serving certificate files are written (default: a private temp dir)')
    .option('--health-port <port>', 'serve /healthz and /readyz on 127.0.0.1:<port> (shorthand for --health-addr)', intArg)
    .option('--health-addr <addr>', 'serve /healthz and /readyz on <host>:<port>, or :<port> for every interface (in a pod)')
    .option('--metrics-addr <addr>', 'serve /metrics on <host>:<port> or :<port> (default: on the health address; 0: off)')
    .option('--served-cert-probe-interval <seconds>', 'how often each TLS database\'s pods are probed for the certificate they serve (0: only during rollouts)', intArg, 180)
    .option('--identity <id>', 'leader-election identity (default: <hostname>_<uuid>, unique per process)')
    .option(
      '--allow-certificate-names <patterns>',
      "names certificates may carry beyond a database's own, comma-separated: DNS names or wildcards (*.example.com), IPs or CIDRs, uri:<glob>, email:<glob>",
      listArg,
    )
    .option('--allowed-cluster-issuers <names>', 'the only ClusterIssuers databases may use, comma-separated (an empty value allows none; default: any)', listArg)
    .option(
      '--own-client-ca <when>',
      "when a Postgres's or Pgpool's client certificates come from a CA of its own: cluster-issuers (when its issuer is a ClusterIssuer) or always",
      ownClientCaArg,
    )
    .option('--workers <n>', 'databases reconciled at once, per kind (default 4)', workersArg)
    .option('--ops-workers <n>', 'ops requests advanced at once, per kind (default 16)', workersArg)
    .option('--resync <seconds>', 'a Ready database is checked again after this long without an event (default 30)', resyncArg)
    .action(action);
}
