// Runs a command in a pod's container through the API server (the kubelet's
// exec), as `kubectl exec` does: works the same on any cluster and needs no
// database credentials, so a reload never depends on the auth mode in force.
import { Writable } from 'node:stream';
import { k8s, type Kube } from './client.ts';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

export async function execInPod(
  kube: Kube,
  pod: { namespace: string; name: string; container: string },
  command: string[],
  timeoutMs = 30_000,
): Promise<ExecResult> {
  const out = collector();
  const err = collector();
  const exec = new k8s.Exec(kube.kc);
  return new Promise<ExecResult>((resolve, reject) => {
    let status: k8s.V1Status | undefined;
    const timer = setTimeout(() => reject(new Error(`exec in ${pod.namespace}/${pod.name} timed out after ${timeoutMs} ms`)), timeoutMs);
    exec
      .exec(pod.namespace, pod.name, pod.container, command, out.stream, err.stream, null, false, (s) => {
        status = s;
      })
      .then((ws) => {
        ws.on('close', () => {
          clearTimeout(timer);
          let exitCode = status?.status === 'Success' ? 0 : 1;
          const cause = status?.details?.causes?.find((c) => c.reason === 'ExitCode');
          if (cause?.message) exitCode = Number(cause.message);
          resolve({ exitCode, stdout: out.text(), stderr: err.text() });
        });
        ws.on('error', (e: Error) => {
          clearTimeout(timer);
          reject(e);
        });
      })
      .catch((e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      });
  });
}
