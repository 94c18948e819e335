// Issue 3: pods as local processes on the pgtls node agent, driven through
// kubectl and the API like on a real node.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { k8s } from '../../src/kube/client-node.ts';
import { localAddress } from '../../src/local/node/resolve.ts';
import { processState, startProcess, waitHealthy } from '../../src/local/controlplane/supervisor.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, sleep } from '../helpers/exec.ts';
import { BRIDGE_MAC, netnsUnsupportedReason } from '../../src/local/net/netns.ts';
import { nodeNetnsName, podNetnsName } from '../../src/local/net/topology.ts';
import { podMac } from '../../src/local/net/pod-netns.ts';
import { inNetns } from '../integration/net/helpers.ts';

const NS = 'nodetest';

const statefulSet = (rev: string) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'pg', namespace: NS },
  spec: {
    serviceName: 'pg-pods',
    replicas: 3,
    selector: { matchLabels: { app: 'pg' } },
    template: {
      metadata: { labels: { app: 'pg' }, annotations: { rev } },
      spec: {
        terminationGracePeriodSeconds: 10,
        // As on a kubelet: the 0600 Secret files are root's, so the image's user (999) reads them
        // through its fsGroup; PGDATA keeps 0700 (set again at each start, as the start scripts do).
        securityContext: { fsGroup: 999, fsGroupChangePolicy: 'OnRootMismatch' },
        initContainers: [
          {
            name: 'init',
            image: 'localhost/pgtls/postgres:15',
            command: ['sh', '-c'],
            args: [
              'set -e; if [ ! -s /var/pv/data/PG_VERSION ]; then initdb -D /var/pv/data -U postgres --pwfile=/auth/password -A scram-sha-256 --auth-local=trust >/dev/null; echo "host all all 0.0.0.0/0 scram-sha-256" >> /var/pv/data/pg_hba.conf; fi; chmod 0700 /var/pv/data',
            ],
            volumeMounts: [
              { name: 'data', mountPath: '/var/pv' },
              { name: 'auth', mountPath: '/auth' },
            ],
          },
        ],
        containers: [
          {
            name: 'postgres',
            image: 'localhost/pgtls/postgres:15-bookworm',
            command: ['postgres'],
            // Every address of the pod, as on a kubelet: port-forward dials localhost inside the pod.
            args: ['-D', '/var/pv/data', '-c', 'listen_addresses=*', '-c', 'unix_socket_directories=/tmp', '-c', 'fsync=off', '-c', 'shared_buffers=16MB'],
            ports: [{ name: 'pg', containerPort: 5432 }],
            readinessProbe: { exec: { command: ['pg_isready', '-h', '/tmp', '-U', 'postgres'] }, periodSeconds: 1 },
            livenessProbe: { tcpSocket: { port: 'pg' }, periodSeconds: 5 },
            volumeMounts: [
              { name: 'data', mountPath: '/var/pv' },
              { name: 'auth', mountPath: '/auth' },
            ],
          },
        ],
        volumes: [{ name: 'auth', secret: { secretName: 'pg-auth', defaultMode: 0o600 } }],
      },
    },
    volumeClaimTemplates: [
      { metadata: { name: 'data' }, spec: { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    ],
  },
});

describe('node agent: pods as local processes', { timeout: 20 * 60_000 }, () => {
  let c: TestCluster;
  const core = () => c.kube.api(k8s.CoreV1Api);

  async function query(target: { service?: string; pod?: string }, sql: string, params: unknown[] = []) {
    const addr = await localAddress(c.kube, { namespace: NS, port: 5432, ...target });
    const client = new pg.Client({ host: addr.host, port: addr.port, user: 'postgres', password: 'secret-pw', database: 'postgres', connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  const readyPods = async () => {
    const pods = await core().listNamespacedPod({ namespace: NS, labelSelector: 'app=pg' });
    return pods.items.filter((p) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
  };

  before(async () => {
    // No operator: pods only, no operator needed.
    c = await startTestCluster({ operator: false });
    await c.createNamespace(NS);
    await c.kubectlOk(['-n', NS, 'create', 'secret', 'generic', 'pg-auth', '--from-literal=password=secret-pw', '--from-literal=note=v1']);
    const svc = (name: string, headless: boolean) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: NS },
      spec: { ...(headless ? { clusterIP: 'None', publishNotReadyAddresses: true } : {}), selector: { app: 'pg' }, ports: [{ name: 'pg', port: 5432, targetPort: 'pg' }] },
    });
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [svc('pg', false), svc('pg-pods', true), statefulSet('1')] }));
  });
  after(async () => {
    await c?.destroy();
  });

  it('registers a Ready node with a lease', async () => {
    const node = await core().readNode({ name: 'pgtls-node' });
    assert.ok(node.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
    assert.deepEqual(node.status?.addresses?.map((a) => `${a.type}=${a.address}`), ['InternalIP=127.0.0.1']);
    const lease = await c.kube.api(k8s.CoordinationV1Api).readNamespacedLease({ name: 'pgtls-node', namespace: 'kube-node-lease' });
    assert.equal(lease.spec?.holderIdentity, 'pgtls-node');
  });

  it('runs a StatefulSet of 3 PostgreSQL pods with their own PVCs, reachable through the Service', async () => {
    await eventually('3 ready PostgreSQL pods', async () => (await readyPods()) === 3, 240_000, 1000);
    const pvcs = await core().listNamespacedPersistentVolumeClaim({ namespace: NS });
    assert.equal(pvcs.items.filter((p) => p.status?.phase === 'Bound').length, 3);
    const rows = await query({ service: 'pg' }, 'select 1 as one');
    assert.equal(rows[0].one, 1);
    // Pod IPs are distinct, all listening on 5432: on the node bridge (a network namespace per
    // pod) when `up` made the node namespace, else loopback addresses.
    const ips = (await core().listNamespacedPod({ namespace: NS, labelSelector: 'app=pg' })).items.map((p) => p.status!.podIP!);
    assert.equal(new Set(ips).size, 3);
    for (const ip of ips) assert.match(ip, /^(10\.244\.\d+\.\d+|127\.\d+\.\d+\.\d+)$/);
    // Service names resolve inside pods as on a real cluster.
    const hosts = await c.kubectlOk(['-n', NS, 'exec', 'pg-1', '-c', 'postgres', '--', 'getent', 'hosts', 'pg-0.pg-pods', 'pg', `pg.${NS}.svc.cluster.local`]);
    assert.equal(hosts.trim().split('\n').length, 3, hosts);
    const whoami = await c.kubectlOk(['-n', NS, 'exec', 'pg-0', '--', 'psql', '-h', '/tmp', '-U', 'postgres', '-tAc', 'select current_user']);
    assert.equal(whoami.trim(), 'postgres');
  });

  it('keeps a pod\'s data when the pod is deleted and comes back, reachable at once on its reused address', async () => {
    // A connection may time out once on a loaded machine; the data is what this part is about.
    await eventually('pg-0 to take a table', async () => (await query({ pod: 'pg-0' }, 'create table if not exists t (v text)').then(() => true, () => undefined)), 60_000, 1000);
    await query({ pod: 'pg-0' }, "insert into t values ('kept')");
    const old = await core().readNamespacedPod({ name: 'pg-0', namespace: NS });
    await c.kubectlOk(['-n', NS, 'delete', 'pod', 'pg-0', '--wait=true', '--timeout=60s']);
    const back = await eventually('pg-0 back and ready', async () => {
      const p = await core().readNamespacedPod({ name: 'pg-0', namespace: NS });
      return p.metadata!.uid !== old.metadata!.uid && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ? p : undefined;
    }, 120_000, 500);
    process.stdout.write(`# pg-0 address before ${old.status?.podIP}, after ${back.status?.podIP}\n`);
    if (netnsUnsupportedReason() === undefined) {
      // The new pod's MAC follows from its address, so what the node namespace learnt for the old pod
      // still holds; and the bridge kept its own MAC although a port left.
      const nodeNs = nodeNetnsName(c.handle.cfg.ports.apiserver);
      const ip = back.status!.podIP!;
      const mac = (await inNetns(podNetnsName(c.handle.cfg.ports.apiserver, back.metadata!.uid!), ['cat', '/sys/class/net/eth0/address'])).trim();
      assert.equal(mac, podMac(ip));
      const neigh = await inNetns(nodeNs, ['ip', 'neigh', 'show', ip]);
      if (neigh.trim()) assert.match(neigh, new RegExp(`lladdr ${mac}`), `node namespace: ${neigh} (pod eth0 ${mac})`);
      assert.match(await inNetns(nodeNs, ['cat', '/sys/class/net/pgtls0/address']), new RegExp(BRIDGE_MAC));
    }
    // No retry here: the new pod usually gets the old address back, and the node and the other pods
    // must learn its new MAC at once (a gratuitous ARP when its eth0 comes up), not ~50 s later.
    assert.deepEqual(await query({ pod: 'pg-0' }, 'select v from t'), [{ v: 'kept' }]);
    const fromPeer = await c.kubectl(['-n', NS, 'exec', 'pg-1', '-c', 'postgres', '--', 'pg_isready', '-t', '3', '-h', 'pg-0.pg-pods']);
    assert.equal(fromPeer.code, 0, fromPeer.stdout + fromPeer.stderr);
  });

  it('updates mounted Secret files in place', async () => {
    assert.equal((await c.kubectlOk(['-n', NS, 'exec', 'pg-1', '--', 'cat', '/auth/note'])).trim(), 'v1');
    // As a kubelet: root's file, group the pod's fsGroup, group read added to defaultMode 0600.
    const mode = await c.kubectlOk(['-n', NS, 'exec', 'pg-1', '--', 'stat', '-L', '-c', '%a %U %g', '/auth/password']);
    assert.equal(mode.trim(), '640 root 999');
    await c.kubectlOk(['-n', NS, 'patch', 'secret', 'pg-auth', '-p', JSON.stringify({ stringData: { note: 'v2' } })]);
    await eventually('the new Secret value in the pod', async () => (await c.kubectl(['-n', NS, 'exec', 'pg-1', '--', 'cat', '/auth/note'])).stdout.trim() === 'v2', 30_000, 300);
  });

  it('serves logs, exec with stdin and a non-zero exit, and port-forward', async () => {
    const logs = await c.kubectlOk(['-n', NS, 'logs', 'pg-1', '-c', 'postgres', '--tail=50']);
    assert.match(logs, /database system is ready to accept connections/);
    const echoed = await c.kubectl(['-n', NS, 'exec', '-i', 'pg-1', '--', 'sh', '-c', 'cat; exit 3'], 'through stdin');
    assert.equal(echoed.stdout, 'through stdin');
    assert.equal(echoed.code, 3);
    const { spawn } = await import('node:child_process');
    const localPort = c.portBase + 50;
    const pf = spawn('kubectl', ['-n', NS, 'port-forward', 'pod/pg-2', `${localPort}:5432`, '--address=127.0.0.1'], { env: c.env, stdio: 'pipe' });
    try {
      await eventually('port-forward to listen', async () => {
        const client = new pg.Client({ host: '127.0.0.1', port: localPort, user: 'postgres', password: 'secret-pw', database: 'postgres', connectionTimeoutMillis: 3000 });
        await client.connect();
        const r = await client.query('select 2 as two');
        await client.end();
        return r.rows[0].two === 2;
      }, 30_000, 500);
    } finally {
      pf.kill('SIGTERM');
    }
  });

  it('completes a rolling update', async () => {
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify(statefulSet('2')));
    await c.kubectlOk(['-n', NS, 'rollout', 'status', 'statefulset/pg', '--timeout=180s']);
    assert.equal(await readyPods(), 3);
  });

  it('shows CrashLoopBackOff with a growing restartCount, and ErrImagePull for an unknown image', async () => {
    await c.kubectlOk(['-n', NS, 'run', 'crash', '--image=localhost/pgtls/debian:bookworm', '--', 'sh', '-c', 'echo dying; exit 3']);
    await c.kubectlOk(['-n', NS, 'run', 'noimage', '--image=mysql:8.0']);
    const st = await eventually('CrashLoopBackOff with restarts', async () => {
      const p = await core().readNamespacedPod({ name: 'crash', namespace: NS });
      const cs = p.status?.containerStatuses?.[0];
      return cs && cs.restartCount >= 2 && cs.state?.waiting?.reason === 'CrashLoopBackOff' ? cs : undefined;
    }, 90_000, 500);
    assert.equal(st.lastState?.terminated?.exitCode, 3);
    assert.match(await c.kubectlOk(['-n', NS, 'logs', 'crash', '--previous']), /dying/);
    const w = await eventually('ErrImagePull', async () => {
      const p = await core().readNamespacedPod({ name: 'noimage', namespace: NS });
      return p.status?.containerStatuses?.[0]?.state?.waiting;
    }, 30_000);
    assert.match(w.reason ?? '', /ErrImagePull|ImagePullBackOff/);
    assert.match(w.message ?? '', /mysql:8\.0.*Known images: .*postgres:15/);
    await c.kubectlOk(['-n', NS, 'delete', 'pod', 'crash', 'noimage', '--wait=true', '--timeout=60s']);
  });

  it('loses no data when the agent is killed and restarted', async () => {
    await query({ pod: 'pg-1' }, 'create table k (v int)');
    await query({ pod: 'pg-1' }, 'insert into k values (42)');
    const comp = c.handle.components.find((x) => x.name === 'node-agent')!;
    const st = processState(c.layout, comp);
    assert.equal(st.state, 'running');
    if (st.state === 'running') process.kill(st.pid, 'SIGKILL');
    await sleep(500);
    const pid = startProcess(c.layout, comp);
    await waitHealthy(c.layout, comp, pid, 60_000);
    // The running PostgreSQL processes were adopted, not restarted.
    const p = await core().readNamespacedPod({ name: 'pg-1', namespace: NS });
    assert.equal(p.status?.containerStatuses?.[0]?.restartCount, 0);
    assert.deepEqual(await query({ pod: 'pg-1' }, 'select v from k'), [{ v: 42 }]);
    await eventually('all 3 pods ready again after the agent restart', async () => (await readyPods()) === 3, 60_000, 500);
  });
});
