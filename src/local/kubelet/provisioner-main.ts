// The local-path provisioner of the kubelet runtime as a process of its own
// (the node agent runs the same provisioner in-process): hostPath PVs under
// the pgtls home for PVCs of the default `standard` class.
//   provisioner-main.ts --kubeconfig K --volumes-dir D
import { parseArgs } from 'node:util';
import { Provisioner } from '../node/provisioner.ts';

const log = (m: string) => process.stderr.write(`${new Date().toISOString()} provisioner: ${m}\n`);
const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, 'volumes-dir': { type: 'string' } } });
if (!values.kubeconfig || !values['volumes-dir']) {
  log('--kubeconfig and --volumes-dir are required');
  process.exit(2);
}
const provisioner = new Provisioner(values.kubeconfig, values['volumes-dir'], log);
await provisioner.start();
log(`volumes under ${values['volumes-dir']}`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    provisioner.stop();
    process.exit(0);
  });
}
