// Readiness, liveness and startup probes, run from the agent against the
// pod's loopback address (tcpSocket, httpGet) or inside the container (exec).
import { connect } from 'node:net';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { spawn } from 'node:child_process';
import type { V1Probe, V1Pod } from '@kubernetes/client-node';
import { isLoopback, targetPort } from './network.ts';

export type ProbeResult = { ok: boolean; message: string };

function portOf(pod: V1Pod, port: number | string): number | undefined {
  return targetPort({ port: 0, targetPort: port as never }, pod);
}

export async function runProbe(
  probe: V1Probe,
  pod: V1Pod,
  podIP: string,
  exec: (argv: string[], timeoutMs: number) => Promise<{ code: number; output: string }>,
): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (!isLoopback(podIP)) return { ok: false, message: `pod IP ${podIP} is not loopback` };
  if (probe.exec) {
    const r = await exec(probe.exec.command ?? [], timeoutMs);
    return { ok: r.code === 0, message: r.code === 0 ? '' : `exec probe exited ${r.code}: ${r.output.slice(0, 200)}` };
  }
  if (probe.tcpSocket) {
    const port = portOf(pod, probe.tcpSocket.port);
    if (port === undefined) return { ok: false, message: `unknown port ${probe.tcpSocket.port}` };
    return new Promise((resolve) => {
      const s = connect({ host: podIP, port });
      const t = setTimeout(() => done(false, 'timeout'), timeoutMs);
      const done = (ok: boolean, message: string) => {
        clearTimeout(t);
        s.destroy();
        resolve({ ok, message });
      };
      s.on('connect', () => done(true, ''));
      s.on('error', (e) => done(false, `dial tcp ${podIP}:${port}: ${e.message}`));
    });
  }
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = portOf(pod, g.port);
    if (port === undefined) return { ok: false, message: `unknown port ${g.port}` };
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.34' };
    for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
    const https = (g.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
    return new Promise((resolve) => {
      const req = (https ? httpsRequest : request)(
        { host: podIP, port, path: g.path ?? '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          resolve({ ok: code >= 200 && code < 400, message: code >= 400 ? `HTTP probe failed with statuscode: ${code}` : '' });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ ok: false, message: `Get ${g.path}: ${e.message}` }));
      req.end();
    });
  }
  return { ok: true, message: '' };
}

/** Runs argv to completion with a deadline; the whole group is killed on timeout. */
export function runBounded(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const add = (b: Buffer) => {
      if (output.length < 4096) output += b.toString();
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(t);
      resolve({ code: 127, output: e.message });
    });
    child.on('close', (code, sig) => {
      clearTimeout(t);
      resolve({ code: code ?? (sig ? 128 : 1), output });
    });
  });
}
