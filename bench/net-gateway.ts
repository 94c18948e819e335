// Issue 8 network figures: connection setup (connect → the server's first
// byte) and upload throughput, from a host client to a server in a pod
// namespace, through a loopback mirror and through the egress socket (HTTP
// CONNECT), against the same server on host loopback; plus the design not
// taken (a process per connection: socat + nsenter). The gateway runs in its
// own process, as under `pgtls up`; namespaces are made and removed here.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gateway } from '../src/local/net/gateway.ts';
import { NetnsSockets, netnsPath } from '../src/local/net/netns-sockets.ts';
import { deleteClusterNetns, ensureNodeNetns, configureServiceRoute, netnsUnsupportedReason } from '../src/local/net/netns.ts';
import { plugPodNetns } from '../src/local/net/pod-netns.ts';
import { addressPlanFor, nodeNetnsName, podNetnsName } from '../src/local/net/topology.ts';
import { startNsServer, stopChild } from '../test/integration/net/helpers.ts';
import { report } from './report.ts';

const BASE = Number(process.env.PGTLS_TEST_PORT_BASE) > 1024 ? Number(process.env.PGTLS_TEST_PORT_BASE) : 21600;
const API_PORT = BASE + 95;
const HOST_TCP = BASE + 96;
const HOST_SINK = BASE + 97;
const SOCAT_PORT = BASE + 98;
const POD_IP = '10.244.0.30';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
const MIB = Number(process.env.BENCH_MIB ?? 256);
const plan = addressPlanFor(API_PORT);
const mirrorHost = `127.${plan.podOctet}.0.30`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Opener = () => Promise<Socket>;

/** Waits for a child's first line of output; fails if it exits or takes longer than 30 s. */
function firstOutput(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not start within 30 s`)), 30_000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(t);
      resolve(d.toString().trim());
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${code})`));
    });
  });
}

/** Resolves with the socket once the server's first line arrived. */
function firstLine(s: Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => s.destroy(new Error('no greeting in 10 s')), 10_000);
    s.once('data', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', reject);
  });
}

const tcp = (host: string, port: number): Opener => () => firstLine(connect({ host, port, allowHalfOpen: true }));

function viaEgress(socketPath: string, target: string): Opener {
  return () =>
    new Promise((resolve, reject) => {
      const s = connect(socketPath);
      s.once('error', reject);
      s.write(`CONNECT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        s.off('data', onData);
        if (!buf.startsWith('HTTP/1.1 200')) return reject(new Error(buf.slice(0, 100)));
        // The greeting may come with the answer or right after it.
        if (buf.length > end + 4) resolve(s);
        else firstLine(s).then(resolve, reject);
      };
      s.on('data', onData);
    });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 1000) / 1000;
};

const summary = (ms: number[]) => ({ median_ms: pct(ms, 50), p90_ms: pct(ms, 90), p99_ms: pct(ms, 99), rounds: ms.length });

async function timeOpen(open: Opener): Promise<number> {
  const t = performance.now();
  const s = await open();
  const ms = performance.now() - t;
  s.destroy();
  return ms;
}

/** Uploads MIB MiB to the sink after its greeting; MiB/s until it reports the count. */
async function throughput(open: Opener, mib: number): Promise<number> {
  const s = await open();
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const t = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    let buf = '';
    s.on('data', (d: Buffer) => (buf += d.toString()));
    s.on('end', () => (buf.includes(`got ${mib * chunk.length}`) ? resolve() : reject(new Error(`sink said ${buf}`))));
    s.on('error', reject);
  });
  for (let i = 0; i < mib; i++) if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  s.end();
  await done;
  s.destroy();
  return Math.round((mib / ((performance.now() - t) / 1000)) * 10) / 10;
}

interface PathSpec {
  path: string;
  open: Opener;
  sink?: Opener;
  /** Fewer rounds for the slow design. */
  every?: number;
}

/**
 * Paths are measured interleaved (round i of every path, then round i+1), so a
 * change of load on the shared machine hits all of them alike.
 */
async function measureAll(paths: PathSpec[], rounds: number) {
  // Warm-up: first connections pay for JIT and lazy listener set-up.
  for (const p of paths) for (let i = 0; i < 10; i++) (await p.open()).destroy();
  const ms = new Map<string, number[]>(paths.map((p) => [p.path, []]));
  for (let i = 0; i < rounds; i++) for (const p of paths) if (i % (p.every ?? 1) === 0) ms.get(p.path)!.push(await timeOpen(p.open));
  const tput = new Map<string, number[]>(paths.map((p) => [p.path, []]));
  for (let i = 0; i < 3; i++) for (const p of paths) if (p.sink) tput.get(p.path)!.push(await throughput(p.sink, MIB));
  return paths.map((p) => {
    const r = { path: p.path, setup: summary(ms.get(p.path)!), throughput_mib_s: p.sink ? pct(tput.get(p.path)!, 50) : undefined };
    process.stderr.write(`  ${p.path}: setup median ${r.setup.median_ms} ms, p99 ${r.setup.p99_ms} ms${p.sink ? `, ${r.throughput_mib_s} MiB/s` : ''}\n`);
    return r;
  });
}

/** The gateway process: only the egress socket and the mirror of the pod are needed. */
async function serveGateway(): Promise<void> {
  const netns = new NetnsSockets({ path: netnsPath(process.env.NODE_NS!), respawn: true });
  await netns.start();
  const gw = new Gateway({ netns, egressSocket: process.env.SOCKET!, apiserver: { host: '127.0.0.1', port: API_PORT }, plan, serviceProxy: true });
  await gw.start();
  const pod = {
    metadata: { name: 'bench', namespace: 'bench' },
    spec: { containers: [{ name: 'c', ports: [{ containerPort: 5432 }, { containerPort: 5433 }] }] },
    status: { phase: 'Running', podIP: POD_IP, conditions: [{ type: 'Ready', status: 'True' }] },
  };
  gw.update({ pods: [pod], services: [], slices: [] });
  const deadline = Date.now() + 20_000;
  while (!(gw.status().mirrors as string[]).includes(`${mirrorHost}:5433`)) {
    if (Date.now() > deadline) throw new Error('the pod mirror did not open within 20 s');
    await sleep(20);
  }
  process.stdout.write(`ready ${process.pid} ${netns.workerPid}\n`);
  process.on('SIGTERM', () => void gw.close().then(() => netns.close()).finally(() => process.exit(0)));
}

async function main(): Promise<void> {
  const why = netnsUnsupportedReason();
  if (why) {
    report('net-gateway', { skipped: why }, `skipped: ${why}`);
    return;
  }
  const nodeNs = nodeNetnsName(API_PORT);
  const podNs = podNetnsName(API_PORT, 'bench-0000-0000-0000-000000000001');
  const dir = mkdtempSync(join(tmpdir(), 'pgtls-bench-net-'));
  const socket = join(dir, 'run', 'egress.sock');
  const children: (ChildProcess | undefined)[] = [];
  try {
    await deleteClusterNetns(API_PORT);
    await ensureNodeNetns(nodeNs);
    await configureServiceRoute(netnsPath(nodeNs), true);
    await plugPodNetns({ nodeNetns: nodeNs, podNetns: podNs, veth: `vb${API_PORT}`, ip: POD_IP });
    children.push(await startNsServer(podNs, { NAME: 'pod', HTTP_PORTS: '8080', TCP_PORT: '5432', SINK_PORT: '5433' }));
    // The same server on host loopback: the baseline.
    const hostServer = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../test/integration/net/fixtures/ns-server.ts', import.meta.url))], {
      env: { ...process.env, NAME: 'host', HOST: '127.0.0.1', HTTP_PORTS: String(BASE + 99), TCP_PORT: String(HOST_TCP), SINK_PORT: String(HOST_SINK) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(hostServer);
    await firstOutput(hostServer, 'the host server');
    const gateway = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_ROLE: 'gateway', NODE_NS: nodeNs, SOCKET: socket },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(gateway);
    const [, gatewayPid, workerPid] = (await firstOutput(gateway, 'the gateway')).split(' ').map(Number);
    // The design not taken: a process per connection (socat forks nsenter + socat into the namespace).
    const socat = spawn('socat', [`TCP-LISTEN:${SOCAT_PORT},bind=127.0.0.1,reuseaddr,fork`, `EXEC:nsenter --net=${netnsPath(nodeNs)} socat STDIO TCP\\:${POD_IP}\\:5432`], { stdio: 'ignore' });
    children.push(socat);
    await sleep(500);

    process.stderr.write(`net-gateway: ${ROUNDS} connections per path, ${MIB} MiB uploads\n`);
    const results = await measureAll(
      [
        { path: 'direct host loopback', open: tcp('127.0.0.1', HOST_TCP), sink: tcp('127.0.0.1', HOST_SINK) },
        { path: 'mirror (127.P.a.b → pod namespace)', open: tcp(mirrorHost, 5432), sink: tcp(mirrorHost, 5433) },
        { path: 'egress socket (CONNECT pod IP)', open: viaEgress(socket, `${POD_IP}:5432`), sink: viaEgress(socket, `${POD_IP}:5433`) },
        { path: 'egress socket (CONNECT host loopback)', open: viaEgress(socket, `127.0.0.1:${HOST_TCP}`) },
        { path: 'process per connection (socat + nsenter), not taken', open: tcp('127.0.0.1', SOCAT_PORT), every: 6 },
      ],
      ROUNDS,
    );
    const byPath = Object.fromEntries(results.map((r) => [r.path, r]));
    const rss = { gateway_mib: rssMiB(gatewayPid!), worker_mib: rssMiB(workerPid!) };
    process.stderr.write(`  RSS after the run: gateway ${rss.gateway_mib} MiB, worker in the namespace ${rss.worker_mib} MiB\n`);
    const d = results[0]!;
    const m = results[1]!;
    const e = results[2]!;
    report(
      'net-gateway',
      { rounds: ROUNDS, upload_mib: MIB, rss, load_average: loadavg().map((x) => Math.round(x * 10) / 10), results: byPath },
      `setup median direct ${d.setup.median_ms} ms, mirror ${m.setup.median_ms} ms, egress ${e.setup.median_ms} ms, socat+nsenter ${results[4]!.setup.median_ms} ms; ` +
        `upload direct ${d.throughput_mib_s} MiB/s, mirror ${m.throughput_mib_s} MiB/s, egress ${e.throughput_mib_s} MiB/s`,
    );
  } finally {
    for (const c of children.reverse()) await stopChild(c);
    await deleteClusterNetns(API_PORT);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_ROLE === 'gateway') await serveGateway();
else await main();
