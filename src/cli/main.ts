#!/usr/bin/env node
// pgtls command line: the local cluster's lifecycle (and, later, the operator).
import { Command, Option } from 'commander';
import { intArg, podNetworkModeArg, secondsArg } from './args.ts';
import { registerImagesCommand } from './images.ts';
import { registerOperatorCommand } from './operator-command.ts';
import { dbStatusAction, invokedAs, registerPluginCommands, statusOptions } from './plugin/commands.ts';

// Each command's module is loaded when the command runs: the operator (in its
// image) never loads the local cluster's code, and every command starts faster.
// (`images` registers its subcommands here; src/images needs only node's builtins.)
const upCommand = async (o: Parameters<typeof import('./up.ts').upCommand>[0]) => (await import('./up.ts')).upCommand(o);
const downCommand = async (o: Parameters<typeof import('./down.ts').downCommand>[0]) => (await import('./down.ts')).downCommand(o);
const statusCommand = async (o: Parameters<typeof import('./status.ts').statusCommand>[0]) => (await import('./status.ts')).statusCommand(o);
const agentCommand = async (o: Parameters<typeof import('./agent.ts').agentCommand>[0]) => (await import('./agent.ts')).agentCommand(o);
const operatorCommand = async (o: Parameters<typeof import('./operator.ts').operatorCommand>[0]) => (await import('./operator.ts')).operatorCommand(o);
const buildOperatorImageCommand = async (o: Parameters<typeof import('./build-operator-image.ts').buildOperatorImageCommand>[0]) =>
  (await import('./build-operator-image.ts')).buildOperatorImageCommand(o);
const gatewayCommand = async (o: Parameters<typeof import('./gateway.ts').gatewayCommand>[0]) => (await import('./gateway.ts')).gatewayCommand(o);

const program = new Command()
  .name(invokedAs())
  .enablePositionalOptions()
  .description('KubeDB-compatible Postgres, PgBouncer and Pgpool operator, with a local Kubernetes cluster')
  .showHelpAfterError();

program
  .command('up')
  .description('start the local cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, cert-manager, node agent) and the operator')
  .option('--detach', 'return once the cluster is ready instead of staying in the foreground')
  .option('--port-base <port>', 'first of the loopback ports a new cluster uses (default 16443)', intArg)
  .option('--timeout <seconds>', 'readiness timeout per component', intArg, 120)
  .option('--runtime <name>', 'for a new home, what runs pods: node-agent (default) or kubelet (containerd + the real kubelet, see docs/kubelet-runtime.md)')
  .addOption(
    new Option('--operator <mode>', 'install the operator with the Helm chart as a Deployment on the local node, as on any cluster (chart), run it as a host process for development (process), or not at all (none)')
      .choices(['chart', 'process', 'none'])
      .default('chart'),
  )
  .action(upCommand);

program
  .command('down')
  .description('stop everything `pgtls up` started; data is kept unless --purge')
  .option('--purge', 'also delete the cluster state under the pgtls home')
  .action(downCommand);

statusOptions(
  program
    .command('status')
    .argument('[kind/name]', 'a database, e.g. pg/ha-postgres')
    .description(
      "without an argument: what the local cluster runs and where, with each component's restarts and last exit; with <kind>/<name>: the database, its pods and the certificate each serves",
    )
    .option('--json', 'print JSON (the same as -o json)'),
).action((target: string | undefined, f: Record<string, string | boolean>) =>
  target ? dbStatusAction(target, f as Record<string, string>) : statusCommand({ json: f.json === true || f.output === 'json' }),
);

program
  .command('agent')
  .description('run the node agent: pods bound to --node-name run as local processes (started by `pgtls up`)')
  .requiredOption('--kubeconfig <file>', 'kubeconfig of the node identity (system:node:<name>)')
  .requiredOption('--node-name <name>', 'the Node to register')
  .requiredOption('--state-dir <dir>', 'where pod directories live')
  .requiredOption('--port <port>', 'kubelet API port on 127.0.0.1', intArg)
  .requiredOption('--serving-cert <file>', 'kubelet API serving certificate')
  .requiredOption('--serving-key <file>', 'kubelet API serving key')
  .requiredOption('--client-ca <file>', 'CA of the API server client certificate')
  .requiredOption('--pod-network <cidr>', 'loopback network for pod IPs, 127.N.0.0/16')
  .requiredOption('--service-network <cidr>', 'loopback network for Service addresses, 127.N.0.0/16')
  .requiredOption('--kubernetes-version <v>', 'version reported as kubeletVersion')
  .option('--provisioner-kubeconfig <file>', 'also run the local-path provisioner with this identity')
  .option('--volumes-dir <dir>', 'where provisioned volumes live')
  .option('--strict', 'as strict as a kubelet (the default): Secret/ConfigMap files root-owned with their modes, fsGroup for group access, only images with a root filesystem')
  .option('--no-strict', 'lenient: volume files given to the pod user, public image names the builder does not make run on host programs')
  .option('--pod-network-mode <mode>', 'netns (a network namespace per pod on the node bridge), loopback (pods share the host network, 127.P.x.y each), or auto (netns when root and the node namespace exists)', podNetworkModeArg, 'auto')
  .option('--secret-sync-delay <seconds>', 'delay before a changed Secret/ConfigMap reaches pod files, as a kubelet sync period', secondsArg, 0)
  .option('--images-dir <dir>', 'the image store (default: $PGTLS_IMAGES_DIR, else ~/.cache/pgtls/images)')
  .option('--debian-mirror <url>', 'Debian mirror for images built on first use')
  .action(agentCommand);

program
  .command('gateway')
  .description("run the network gateway between the host and the cluster's node namespace (started by `pgtls up`)")
  .requiredOption('--kubeconfig <file>', 'kubeconfig of the gateway identity (pgtls:net-gateway); its server is the `kubernetes` Service endpoint')
  .requiredOption('--netns <name>', 'the node network namespace (/run/netns/<name>)')
  .requiredOption('--egress-socket <path>', "unix socket for the API server's egress (HTTP CONNECT) and the control calls")
  .requiredOption('--pod-mirror-network <cidr>', 'loopback network mirroring the pod network, 127.N.0.0/16')
  .requiredOption('--service-mirror-network <cidr>', 'loopback network mirroring the Service network, 127.N.0.0/16')
  .option('--no-service-proxy', 'do not serve Service ClusterIPs inside the namespace (kube-proxy does); egress and mirrors stay')
  .option('--dial-timeout <ms>', 'connect timeout for every dial', intArg, 10_000)
  .action(gatewayCommand);

registerImagesCommand(program);

program
  .command('build-operator-image')
  .description('build the operator image (compiled operator on Debian trixie\'s Node.js) into the image store, without a container engine')
  .option('--oci-archive <file>', 'also write it as an OCI archive (load with kind load image-archive, or ctr -n k8s.io images import)')
  .option('--no-build', 'use dist/ as it is instead of running npm run build')
  .action(buildOperatorImageCommand);

registerOperatorCommand(program, operatorCommand);

registerPluginCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`pgtls: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
