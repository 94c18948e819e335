// `pgtls agent`: the node agent (and the local-path provisioner) in the foreground.
import { NodeAgent, type PodNetworkMode } from '../local/node/agent.ts';
import { Provisioner } from '../local/node/provisioner.ts';
import { parseNetwork } from '../local/node/network.ts';

export interface AgentCommandOptions {
  kubeconfig: string;
  nodeName: string;
  stateDir: string;
  port: number;
  servingCert: string;
  servingKey: string;
  clientCa: string;
  podNetwork: string;
  serviceNetwork: string;
  kubernetesVersion: string;
  provisionerKubeconfig?: string;
  volumesDir?: string;
  strict?: boolean;
  podNetworkMode?: PodNetworkMode;
  secretSyncDelay?: number;
  imagesDir?: string;
  debianMirror?: string;
}

const say = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);

export { podNetworkModeArg, secondsArg } from './args.ts';

export async function agentCommand(o: AgentCommandOptions): Promise<void> {
  const agent = new NodeAgent({
    kubeconfig: o.kubeconfig,
    nodeName: o.nodeName,
    stateDir: o.stateDir,
    kubeletPort: o.port,
    servingCert: o.servingCert,
    servingKey: o.servingKey,
    clientCa: o.clientCa,
    plan: { podOctet: parseNetwork(o.podNetwork), serviceOctet: parseNetwork(o.serviceNetwork) },
    kubernetesVersion: o.kubernetesVersion,
    strict: o.strict ?? true,
    podNetwork: o.podNetworkMode ?? 'auto',
    secretSyncDelayMs: Math.round((o.secretSyncDelay ?? 0) * 1000),
    ...(o.imagesDir ? { imagesDir: o.imagesDir } : {}),
    ...(o.debianMirror ? { debianMirror: o.debianMirror } : {}),
    log: say,
  });
  let provisioner: Provisioner | undefined;
  if (o.provisionerKubeconfig) {
    provisioner = new Provisioner(o.provisionerKubeconfig, o.volumesDir ?? `${o.stateDir}/volumes`, say);
    await provisioner.start();
  }
  if (process.getuid?.() !== 0 && o.podNetworkMode === 'netns') throw new Error('--pod-network-mode=netns needs root (network namespaces)');
  await agent.start();
  if (process.getuid?.() !== 0) say('not running as root: containers run as this user, without mount namespaces (volume mountPaths are not mapped); see docs/local-node.md');
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    say(`${sig}: stopping pods`);
    provisioner?.stop();
    void agent.shutdown().then(() => {
      say('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
