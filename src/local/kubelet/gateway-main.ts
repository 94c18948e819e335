// Entry point of the gateway processes (`pgtls up --runtime kubelet` starts
// them): `node` inside the node namespace, `host` on the host.
//   gateway-main.ts node --egress-sock S --api-sock A --api-port P
//   gateway-main.ts host --api-sock A --api-port P --egress-sock S --kubeconfig K --node-name N
//                        [--provisioner-kubeconfig K2 --volumes-dir D]   (hostPath PVs, as with the node agent)
import { parseArgs } from 'node:util';
import { addressPlanFor } from '../net/topology.ts';
import { mirrorsFor, podMirrorsFor, serveEgress, serveTcpToUnix, serveUnixToTcp, ServiceMirrors } from './gateway.ts';

const log = (m: string) => process.stderr.write(`${new Date().toISOString()} gateway: ${m}\n`);

async function main(): Promise<void> {
  const mode = process.argv[2];
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      'egress-sock': { type: 'string' },
      'api-sock': { type: 'string' },
      'api-port': { type: 'string' },
      kubeconfig: { type: 'string' },
      'node-name': { type: 'string' },
      'provisioner-kubeconfig': { type: 'string' },
      'volumes-dir': { type: 'string' },
    },
  });
  const need = (k: keyof typeof values): string => {
    const v = values[k];
    if (!v) throw new Error(`--${k} is required`);
    return v;
  };
  const apiPort = Number(need('api-port'));
  if (mode === 'node') {
    serveEgress(need('egress-sock'));
    // 0.0.0.0 inside the namespace: the node address for pods, loopback for the kubelet and kube-proxy.
    serveTcpToUnix(apiPort, '0.0.0.0', need('api-sock'));
    log(`node side: egress proxy on ${values['egress-sock']}, API server on :${apiPort} → ${values['api-sock']}`);
  } else if (mode === 'host') {
    serveUnixToTcp(need('api-sock'), '127.0.0.1', apiPort);
    // Loaded here only: the node side stays a small process.
    const { Kube, k8s } = await import('../../kube/client.ts');
    const mirrors = new ServiceMirrors(need('egress-sock'), log);
    const plan = addressPlanFor(apiPort);
    const core = Kube.fromFile(need('kubeconfig')).api(k8s.CoreV1Api);
    log(`host side: ${values['api-sock']} → 127.0.0.1:${apiPort}; Services mirrored on 127.${plan.serviceOctet}.x.y, pods' declared ports on 127.${plan.podOctet}.x.y`);
    if (values['provisioner-kubeconfig']) {
      const { Provisioner } = await import('../node/provisioner.ts');
      await new Provisioner(values['provisioner-kubeconfig'], need('volumes-dir'), log).start();
      log(`local-path provisioner: volumes under ${values['volumes-dir']}`);
    }
    // Level-triggered: the whole Service list every 2 s is small on a local cluster.
    for (;;) {
      try {
        const services = (await core.listServiceForAllNamespaces()).items;
        // A node identity may list only its own pods (the Node authorizer's field-selector rule).
        const pods = (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${need('node-name')}` })).items;
        mirrors.sync([...mirrorsFor(services, plan), ...podMirrorsFor(pods, plan)]);
      } catch (err) {
        log(`listing Services: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  } else {
    throw new Error(`mode must be "node" or "host", got ${mode ?? '(none)'}`);
  }
}

main().catch((err: unknown) => {
  log((err as Error).message);
  process.exit(1);
});
