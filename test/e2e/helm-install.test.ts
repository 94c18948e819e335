// The Helm chart against the local cluster's real API server, and the
// operator as the chart runs it: the image's /app (compiled JavaScript and
// runtime dependencies only), in-cluster
// mode (no kubeconfig: the chart's ServiceAccount token, read the way
// client-node reads it in a pod), with only the chart's roles, health
// and metrics on their own addresses. Here the operator runs as a host process
// with the ServiceAccount's files under PGTLS_SERVICEACCOUNT_ROOT and its
// webhook registered by URL; operator-chart.test.ts runs the image in pods on
// the local node, helm-kubelet.test.ts on the kubelet runtime.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { stageOperatorApp } from '../../src/install/stage-app.ts';
import { chartPath, helmMissing, runHelmOk } from '../../src/install/helm.ts';
import { adoptExisting, chartInstallArgs } from '../../src/install/local-chart.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, run, sleep } from '../helpers/exec.ts';
import { makeCa, tmpDir } from '../helpers/tls.ts';
import { waitOps } from '../helpers/ops.ts';

const RELEASE_NS = 'pgtls-system';
/** Whose CRDs validate the chart's ServiceMonitor and PrometheusRule. */
const PROMETHEUS_OPERATOR = 'v0.85.0';
const NS = 'demo';

/** One series' value from Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('Helm chart and the in-cluster operator', { timeout: 30 * 60_000, skip: helmMissing() }, () => {
  let c: TestCluster;
  let op: ChildProcess | undefined;
  let dir: string;
  let app: string;
  const helmState = tmpDir('pgtls-helm-');
  let ports: { webhook: number; health: number; metrics: number };
  const template = (...args: string[]) => runHelmOk(['template', 'pgtls', chartPath(), '-n', RELEASE_NS, ...args], { stateDir: helmState });
  const metricsText = async () => (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();

  before(async () => {
    c = await startTestCluster({ operator: false });
    ports = { webhook: c.portBase + 20, health: c.portBase + 21, metrics: c.portBase + 22 };
    dir = tmpDir('pgtls-incluster-');
    // The operator runs from exactly what the image holds in /app: dist/, package.json and the
    // runtime dependencies (npm ci --omit=dev --omit=optional), no TypeScript loader.
    app = await stageOperatorApp(join(dir, 'app'));
  });

  after(async () => {
    if (op && op.exitCode === null) {
      op.kill('SIGTERM');
      await new Promise((r) => op!.once('exit', r));
    }
    await c?.destroy();
  });

  it('helm template | kubectl apply --dry-run=server: the API server accepts every object (defaults and with the NetworkPolicy)', async () => {
    // As `helm install --create-namespace` would.
    await c.createNamespace(RELEASE_NS);
    for (const extra of [[], ['--set', 'networkPolicy.enabled=true', '--set', 'replicaCount=3']]) {
      const rendered = await template(...extra);
      const count = parseAllDocuments(rendered).filter((d) => d.toJS()).length;
      const out = await c.kubectlOk(['apply', '--dry-run=server', '-f', '-'], rendered);
      const lines = out.trim().split('\n');
      assert.equal(lines.length, count, out);
      for (const l of lines) assert.match(l, /\(server dry run\)$/, l);
    }
  });

  it('with the Prometheus Operator\'s CRDs (from its Go module), the ServiceMonitor and PrometheusRule are accepted too', async (t) => {
    // The CRDs ship in the Go module, as cert-manager's do; fetched through the Go module proxy.
    const r = await run('go', ['mod', 'download', '-json', `github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR}`], { timeoutMs: 300_000 });
    if (r.code !== 0) return t.skip(`go mod download of the Prometheus Operator failed: ${r.stderr.trim().slice(0, 200)}`);
    const crds = join((JSON.parse(r.stdout) as { Dir: string }).Dir, 'example', 'prometheus-operator-crd');
    for (const f of ['monitoring.coreos.com_servicemonitors.yaml', 'monitoring.coreos.com_prometheusrules.yaml']) {
      await c.kubectlOk(['apply', '--server-side', '-f', join(crds, f)]);
    }
    await c.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/servicemonitors.monitoring.coreos.com', 'crd/prometheusrules.monitoring.coreos.com']);
    const rendered = await template('--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true', '--show-only', 'templates/servicemonitor.yaml', '--show-only', 'templates/prometheusrule.yaml');
    const out = await c.kubectlOk(['apply', '--dry-run=server', '-f', '-'], rendered);
    assert.match(out, /servicemonitor\.monitoring\.coreos\.com\/pgtls created \(server dry run\)/);
    assert.match(out, /prometheusrule\.monitoring\.coreos\.com\/pgtls created \(server dry run\)/);
  });

  it('the bundled operator runs in-cluster with only the chart\'s ServiceAccount and roles: leads, serves its webhook, exports metrics', async () => {
    await c.kubectlOk(['apply', '-f', '-'], await template('--show-only', 'templates/serviceaccount.yaml', '--show-only', 'templates/rbac.yaml'));
    const token = (await c.kubectlOk(['-n', RELEASE_NS, 'create', 'token', 'pgtls', '--duration=2h'])).trim();
    // What the kubelet projects into a pod, under a root the test owns.
    const sa = join(dir, 'sa', 'var', 'run', 'secrets', 'kubernetes.io', 'serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), token, { mode: 0o600 });
    writeFileSync(join(sa, 'ca.crt'), readFileSync(join(c.layout.pki, 'ca.crt')));
    writeFileSync(join(sa, 'namespace'), RELEASE_NS);
    const log = openSync(join(dir, 'operator.log'), 'a');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(c.handle.cfg.ports.apiserver),
      PGTLS_SERVICEACCOUNT_ROOT: join(dir, 'sa'),
      PGTLS_LOG_LEVEL: 'info',
    };
    op = spawn(
      process.execPath,
      [
        // What the image runs: the operator's bundle.
        join(app, 'dist', 'bundle', 'operator.js'),
        'operator',
        `--namespace=${RELEASE_NS}`,
        '--webhook-host=127.0.0.1',
        `--webhook-port=${ports.webhook}`,
        `--health-addr=127.0.0.1:${ports.health}`,
        `--metrics-addr=127.0.0.1:${ports.metrics}`,
        '--served-cert-probe-interval=5',
        '--identity=in-cluster-test',
      ],
      { cwd: dir, env, stdio: ['ignore', log, log], detached: true },
    );
    const ready = await eventually(
      'the operator to lead with its webhook called',
      async () => {
        if (op!.exitCode !== null) throw new Error(`operator exited ${op!.exitCode}: ${readFileSync(join(dir, 'operator.log'), 'utf8').slice(-2000)}`);
        const r = await fetch(`http://127.0.0.1:${ports.health}/readyz?leader=true`).catch(() => undefined);
        return r?.ok ? ((await r.json()) as { identity: string; leader: boolean }) : undefined;
      },
      180_000,
      500,
    );
    assert.equal(ready.identity, 'in-cluster-test');
    const lease = JSON.parse(await c.kubectlOk(['-n', RELEASE_NS, 'get', 'lease', 'pgtls-operator', '-o', 'json'])) as { spec: { holderIdentity: string } };
    assert.equal(lease.spec.holderIdentity, 'in-cluster-test');
    // Its API identity is the ServiceAccount, not an admin certificate.
    assert.match(readFileSync(join(dir, 'operator.log'), 'utf8'), /became leader/);
    const saKubeconfig = join(dir, 'sa.kubeconfig');
    writeFileSync(
      saKubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${c.handle.cfg.ports.apiserver}`, 'certificate-authority': join(sa, 'ca.crt') } }],
        users: [{ name: 'sa', user: { tokenFile: join(sa, 'token') } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'sa' } }],
        'current-context': 'c',
      }),
      { mode: 0o600 },
    );
    const who = JSON.parse(await c.kubectlOk(['--kubeconfig', saKubeconfig, 'auth', 'whoami', '-o', 'json'])) as { status: { userInfo: { username: string } } };
    assert.equal(who.status.userInfo.username, `system:serviceaccount:${RELEASE_NS}:pgtls`);

    // pgtls_leader turns 1 once the controllers run, a moment after the Lease is held.
    const text = await eventually('pgtls_leader 1', async () => {
      const t = await metricsText();
      return /^pgtls_leader 1$/m.test(t) ? t : undefined;
    }, 60_000, 250);
    assert.match(text, /^process_resident_memory_bytes \d+/m);
    assert.match(text, /^pgtls_workqueue_depth\{name="provisioner-postgres"\} 0$/m);
    // Health and metrics on their own listeners, as --health-addr/--metrics-addr asked.
    assert.equal((await fetch(`http://127.0.0.1:${ports.health}/metrics`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${ports.metrics}/healthz`)).status, 404);
  });

  it('/metrics shows the certificate every pod of a TLS Postgres serves, and the new one after a rotate', async () => {
    assert.ok(op && op.exitCode === null, 'the operator from the previous test runs');
    await c.createNamespace(NS);
    const ca = await makeCa(tmpDir('pgtls-ca-'), '/CN=ca/O=kubedb');
    await c.kubectlOk(['create', 'secret', 'tls', 'pg-ca', '--cert', ca.crt, '--key', ca.key, '-n', NS]);
    const objs = [
      { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'pg-issuer', namespace: NS }, spec: { ca: { secretName: 'pg-ca' } } },
      {
        apiVersion: 'kubedb.com/v1',
        kind: 'Postgres',
        metadata: { name: 'pg', namespace: NS },
        spec: { version: '15', replicas: 2, storageType: 'Ephemeral', deletionPolicy: 'WipeOut', sslMode: 'verify-full', tls: { issuerRef: { name: 'pg-issuer', kind: 'Issuer', apiGroup: 'cert-manager.io' } } },
      },
    ];
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }));
    await eventually('pg Ready', async () => (await c.kubectlOk(['-n', NS, 'get', 'pg', 'pg', '-o', 'jsonpath={.status.phase}'])) === 'Ready', 300_000, 1000);

    const secretCert = async () => {
      const s = JSON.parse(await c.kubectlOk(['-n', NS, 'get', 'secret', 'pg-server-cert', '-o', 'json'])) as { data: Record<string, string> };
      return new X509Certificate(Buffer.from(s.data['tls.crt']!, 'base64'));
    };
    const expiryOf = (x: X509Certificate) => Math.floor(new Date(x.validTo).getTime() / 1000);
    const series = (pod: string) => ({ kind: 'Postgres', namespace: NS, database: 'pg', pod, alias: 'server' });
    const servedAll = async (want: number) => {
      const text = await metricsText();
      for (const pod of ['pg-0', 'pg-1']) {
        if (sample(text, 'pgtls_served_certificate_expiry_timestamp_seconds', series(pod)) !== want) return undefined;
        if (sample(text, 'pgtls_served_certificate_matches_secret', series(pod)) !== 1) return undefined;
      }
      return text;
    };
    const before = await secretCert();
    await eventually('the served-certificate series of both pods', () => servedAll(expiryOf(before)), 120_000, 1000);

    // Rotate: cert-manager re-issues, the ops-manager reloads, the metrics follow.
    await sleep(1100); // a new notAfter at least one second later
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'ops.kubedb.com/v1alpha1', kind: 'PostgresOpsRequest', metadata: { name: 'rotate', namespace: NS }, spec: { type: 'ReconfigureTLS', databaseRef: { name: 'pg' }, tls: { rotateCertificates: true } } }));
    const st = await waitOps(c, 'pgops', NS, 'rotate', 300_000);
    assert.equal(st.phase, 'Successful', JSON.stringify(st.conditions));
    const rotated = await secretCert();
    assert.notEqual(rotated.fingerprint256, before.fingerprint256);
    assert.ok(expiryOf(rotated) > expiryOf(before));
    const text = await eventually('the rotated certificate in the served series', () => servedAll(expiryOf(rotated)), 60_000, 500);
    assert.match(text, /pgtls_ops_requests\{kind="PostgresOpsRequest",type="ReconfigureTLS",phase="Successful"\} 1/);
    assert.match(text, /pgtls_ops_request_step_duration_seconds_count\{kind="PostgresOpsRequest",type="ReconfigureTLS",step="ReloadPods"\} 1/);
    // The request's clean-up (its private Secrets, its finalizer) is the pass after Successful, in the same
    // worker's turn; a reconcile is counted when that turn ends.
    await eventually('the request cleaned up (finalizer gone)', async () => !(await c.kubectlOk(['-n', NS, 'get', 'pgops', 'rotate', '-o', 'jsonpath={.metadata.finalizers}'])).includes('ops.pgtls.dev/rollback'), 60_000, 500);
    await eventually('a reconcile of the ops-manager that asked for nothing more', async () => /pgtls_controller_reconcile_total\{controller="ops-postgres",result="success"\} \d+/.test(await metricsText()), 30_000, 500);
  });

  it('helm install (taking over what a process-mode operator made), helm upgrade rolls the Deployment, helm uninstall keeps the databases, their Secrets and the CRDs', async () => {
    const dbPods = () => c.kubectlOk(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/instance=pg', '-o', 'jsonpath={.items[*].metadata.uid}']);
    const podsBefore = await dbPods();
    assert.ok(podsBefore.trim().split(' ').length === 2, podsBefore);
    // The ServiceAccount and RBAC the previous test applied with kubectl: hand them to the release
    // (the running operator's token is bound to this ServiceAccount, so it must not be recreated).
    for (const ref of [['-n', RELEASE_NS, 'serviceaccount/pgtls'], ['clusterrole/pgtls'], ['clusterrolebinding/pgtls'], ['-n', RELEASE_NS, 'role/pgtls'], ['-n', RELEASE_NS, 'rolebinding/pgtls']]) {
      await c.kubectlOk(['annotate', '--overwrite', ...ref, 'meta.helm.sh/release-name=pgtls', `meta.helm.sh/release-namespace=${RELEASE_NS}`]);
      await c.kubectlOk(['label', '--overwrite', ...ref, 'app.kubernetes.io/managed-by=Helm']);
    }
    const done = await adoptExisting(c.kube, 'pgtls', RELEASE_NS);
    assert.deepEqual(done.sort(), [
      'adopted Certificate/pgtls-webhook-ca',
      'adopted Certificate/pgtls-webhook-serving',
      'adopted Issuer/pgtls-webhook-ca',
      'adopted Issuer/pgtls-webhook-selfsigned',
      'deleted MutatingWebhookConfiguration/pgtls-mutators',
      'deleted ValidatingWebhookConfiguration/pgtls-validators',
    ]);
    // No --wait: the local node cannot run the operator image yet (see docs/operator.md).
    const install = (set: string[]) => runHelmOk(chartInstallArgs({ kubeconfig: c.layout.kubeconfig, stateDir: helmState, wait: false, set }), { stateDir: helmState });
    await install([]);
    const deploy = async () => JSON.parse(await c.kubectlOk(['-n', RELEASE_NS, 'get', 'deploy', 'pgtls', '-o', 'json'])) as { metadata: { generation: number; annotations: Record<string, string> }; spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
    const first = await deploy();
    const vwc = JSON.parse(await c.kubectlOk(['get', 'validatingwebhookconfiguration', 'pgtls-validators', '-o', 'json'])) as { webhooks: { clientConfig: { service?: { name: string; namespace: string; port: number }; url?: string } }[] };
    for (const w of vwc.webhooks) assert.deepEqual(w.clientConfig.service, { name: 'pgtls-webhook', namespace: RELEASE_NS, port: 443, path: (w.clientConfig.service as { path?: string }).path });
    assert.match(await runHelmOk(['status', 'pgtls', '-n', RELEASE_NS, '--kubeconfig', c.layout.kubeconfig], { stateDir: helmState }), /STATUS: deployed/);

    // A changed value rolls the Deployment (a new pod template), the databases' pods are untouched.
    await install(['logLevel=debug']);
    const second = await deploy();
    assert.ok(second.metadata.generation > first.metadata.generation);
    assert.equal(second.spec.template.spec.containers[0]!.env.find((e) => e.name === 'PGTLS_LOG_LEVEL')?.value, 'debug');
    await eventually('a new ReplicaSet for the new template', async () => {
      const rs = JSON.parse(await c.kubectlOk(['-n', RELEASE_NS, 'get', 'rs', '-l', 'app.kubernetes.io/instance=pgtls', '-o', 'json'])) as { items: unknown[] };
      return rs.items.length >= 2;
    }, 60_000, 500);
    assert.equal(await dbPods(), podsBefore);

    await runHelmOk(['uninstall', 'pgtls', '-n', RELEASE_NS, '--kubeconfig', c.layout.kubeconfig, '--wait', '--timeout', '120s'], { stateDir: helmState });
    for (const gone of [['-n', RELEASE_NS, 'deploy', 'pgtls'], ['validatingwebhookconfiguration', 'pgtls-validators'], ['mutatingwebhookconfiguration', 'pgtls-mutators'], ['-n', RELEASE_NS, 'certificate', 'pgtls-webhook-serving'], ['clusterrole', 'pgtls']]) {
      const r = await c.kubectl(['get', ...gone]);
      assert.notEqual(r.code, 0, `${gone.join(' ')} is gone`);
    }
    // Kept: the database, its Secrets, the CRDs.
    assert.match(await c.kubectlOk(['-n', NS, 'get', 'pg', 'pg', '-o', 'jsonpath={.metadata.name}']), /^pg$/);
    for (const secret of ['pg-auth', 'pg-server-cert']) await c.kubectlOk(['-n', NS, 'get', 'secret', secret]);
    await c.kubectlOk(['get', 'crd', 'postgreses.kubedb.com']);
    assert.equal(await dbPods(), podsBefore);
  });
});
