// `pgtls gateway`: the network gateway between the host and a cluster's node
// namespace, in the foreground (started by `pgtls up`).
import { Rest } from '../local/node/rest.ts';
import { parseNetwork } from '../local/node/network.ts';
import { Gateway } from '../local/net/gateway.ts';
import { KubeSource } from '../local/net/kube-source.ts';
import { NetnsSockets, netnsPath } from '../local/net/netns-sockets.ts';
import { configureServiceRoute } from '../local/net/netns.ts';

export interface GatewayCommandOptions {
  kubeconfig: string;
  netns: string;
  egressSocket: string;
  podMirrorNetwork: string;
  serviceMirrorNetwork: string;
  serviceProxy: boolean;
  dialTimeout: number;
}

const say = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);

export async function gatewayCommand(o: GatewayCommandOptions): Promise<void> {
  const plan = { podOctet: parseNetwork(o.podMirrorNetwork), serviceOctet: parseNetwork(o.serviceMirrorNetwork) };
  const rest = await Rest.fromKubeconfig(o.kubeconfig);
  const apiserver = { host: rest.server.hostname.replace(/^\[|\]$/g, ''), port: Number(rest.server.port || 443) };
  const path = netnsPath(o.netns);
  const netns = new NetnsSockets({ path, dialTimeoutMs: o.dialTimeout, log: say, respawn: true });
  await netns.start();
  await configureServiceRoute(path, o.serviceProxy);
  const gateway = new Gateway({ netns, egressSocket: o.egressSocket, apiserver, plan, serviceProxy: o.serviceProxy, dialTimeoutMs: o.dialTimeout, log: say });
  await gateway.start();
  const source = new KubeSource(rest, gateway, say);
  await source.start();
  say(
    `gateway ready: egress on ${o.egressSocket}, node namespace ${o.netns} (worker pid ${netns.workerPid}), ` +
      `services ${o.serviceProxy ? 'served inside the namespace' : 'left to kube-proxy'}, mirrors in 127.${plan.podOctet}.0.0/16 and 127.${plan.serviceOctet}.0.0/16`,
  );
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    say(`${sig}: stopping`);
    source.stop();
    void gateway
      .close()
      .then(() => netns.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
