// Readiness, liveness and startup probes as the kubelet runs them: tcpSocket
// and httpGet connect to the pod's address from inside the pod's network
// (through `dial`), exec runs inside the container.
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import type { V1Probe, V1Pod } from '@kubernetes/client-node';
import { targetPort } from './network.ts';

export type ProbeResult = { ok: boolean; message: string };

export type Dial = (host: string, port: number, timeoutMs: number) => Duplex;
export type Exec = (argv: string[], timeoutMs: number) => Promise<{ code: number; output: string }>;

function portOf(pod: V1Pod, port: number | string): number | undefined {
  return targetPort({ port: 0, targetPort: port as never }, pod);
}

function tcpProbe(dial: Dial, host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let s: Duplex;
    const t = setTimeout(() => done(false, `dial tcp ${host}:${port}: i/o timeout`), timeoutMs);
    const done = (ok: boolean, message: string) => {
      clearTimeout(t);
      s?.destroy();
      resolve({ ok, message });
    };
    try {
      s = dial(host, port, timeoutMs);
    } catch (err) {
      done(false, String(err));
      return;
    }
    s.on('connect', () => done(true, ''));
    s.on('error', (e) => done(false, e.message.startsWith('dial tcp') ? e.message : `dial tcp ${host}:${port}: ${e.message}`));
  });
}

function httpProbe(dial: Dial, host: string, port: number, probe: NonNullable<V1Probe['httpGet']>, timeoutMs: number): Promise<ProbeResult> {
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.34', Host: `${host}:${port}` };
  for (const h of probe.httpHeaders ?? []) headers[h.name] = h.value;
  const https = (probe.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  const path = probe.path ?? '/';
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : request)(
      {
        host,
        port,
        path,
        method: 'GET',
        headers,
        timeout: timeoutMs,
        rejectUnauthorized: false,
        // The connection is made from inside the pod's network. No `agent`: with one (even
        // `agent: false`, which makes a fresh Agent) node ignores createConnection and dials
        // the pod address from the host, i.e. out of the host's default route.
        createConnection: () => dial(host, port, timeoutMs) as never,
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve({ ok: code >= 200 && code < 400, message: code >= 400 ? `HTTP probe failed with statuscode: ${code}` : '' });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, message: `Get "${https ? 'https' : 'http'}://${host}:${port}${path}": ${e.message}` }));
    req.end();
  });
}

export async function runProbe(probe: V1Probe, pod: V1Pod, podIP: string, exec: Exec, dial: Dial): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    const r = await exec(probe.exec.command ?? [], timeoutMs);
    return { ok: r.code === 0, message: r.code === 0 ? '' : `exec probe exited ${r.code}: ${r.output.slice(0, 200)}` };
  }
  const spec = probe.tcpSocket ?? probe.httpGet;
  if (!spec) return { ok: true, message: '' };
  const port = portOf(pod, spec.port);
  if (port === undefined) return { ok: false, message: `unknown port ${spec.port}` };
  const host = spec.host || podIP;
  if (probe.tcpSocket) return tcpProbe(dial, host, port, timeoutMs);
  return httpProbe(dial, host, port, probe.httpGet!, timeoutMs);
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
        // already gone
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
