import { Manager } from '../operator/manager.ts';
import { defaultControllers } from '../operator/controllers.ts';
import { Kube } from '../kube/client.ts';
import { installApi } from '../api/install.ts';
import { createLogger } from '../observability/logger.ts';

export interface OperatorOptions {
  kubeconfig: string;
  leaderElect: boolean;
  leaseNamespace: string;
  installCrds: boolean;
}

export async function operatorCommand(opts: OperatorOptions): Promise<void> {
  const log = createLogger('pgtls-operator');
  if (opts.installCrds) {
    await installApi(Kube.fromFile(opts.kubeconfig));
    log.info('CRDs and version catalog installed');
  }
  const mgr = new Manager({
    kubeconfig: opts.kubeconfig,
    leaderElection: opts.leaderElect,
    leaseNamespace: opts.leaseNamespace,
    controllers: defaultControllers(),
    log,
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down');
    void mgr.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await mgr.run();
  // Without leader election run() returns once controllers started; stay up until signalled.
  await new Promise<void>(() => undefined);
}
