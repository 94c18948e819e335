// Issue 2: the real control plane and cert-manager on loopback, driven through
// kubectl and @kubernetes/client-node.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { k8s } from '../../src/kube/client-node.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { eventually, run, runOk, sleep } from '../helpers/exec.ts';
import { makeCa, tmpDir, writeSecretFiles, x509Field } from '../helpers/tls.ts';

const NS = 'e2e';

const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.pgtls.dev' },
  spec: {
    group: 'test.pgtls.dev',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Size', type: 'string', jsonPath: '.spec.size' },
          { name: 'Status', type: 'string', jsonPath: '.status.phase' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'string', enum: ['small', 'large'] } } },
              status: {
                type: 'object',
                properties: {
                  phase: { type: 'string' },
                  conditions: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['type', 'status'],
                      properties: { type: { type: 'string' }, status: { type: 'string' }, reason: { type: 'string' } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

describe('local cluster: real control plane and cert-manager', { timeout: 15 * 60_000 }, () => {
  let c: TestCluster;

  before(async () => {
    c = await startTestCluster();
    await c.createNamespace(NS);
  });
  after(async () => {
    await c?.destroy();
  });

  it('serves a real Kubernetes version and discovery, to kubectl and client-node', async () => {
    const v = JSON.parse(await c.kubectlOk(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string; major: string } };
    assert.equal(v.serverVersion.gitVersion, `v${c.handle.cfg.versions.kubernetes}`);
    const code = await c.kube.api(k8s.VersionApi).getCode();
    assert.equal(code.gitVersion, `v${c.handle.cfg.versions.kubernetes}`);
    const groups = await c.kube.api(k8s.ApisApi).getAPIVersions();
    const names = groups.groups.map((g) => g.name);
    for (const g of ['apps', 'rbac.authorization.k8s.io', 'coordination.k8s.io', 'cert-manager.io', 'apiextensions.k8s.io']) {
      assert.ok(names.includes(g), `discovery lacks ${g}: ${names.join(', ')}`);
    }
    const res = await c.kubectlOk(['api-resources', '--api-group=cert-manager.io', '-o', 'name']);
    assert.match(res, /certificates\.cert-manager\.io/);
    assert.match(res, /clusterissuers\.cert-manager\.io/);
  });

  it('creates, gets, lists, patches and deletes core objects with kubectl', async () => {
    await c.kubectlOk(['-n', NS, 'create', 'configmap', 'cm1', '--from-literal=a=1']);
    assert.equal(await c.kubectlOk(['-n', NS, 'get', 'configmap', 'cm1', '-o', 'jsonpath={.data.a}']), '1');
    await c.kubectlOk(['-n', NS, 'patch', 'configmap', 'cm1', '--type=merge', '-p', '{"data":{"a":"2","b":"3"}}']);
    assert.equal(await c.kubectlOk(['-n', NS, 'get', 'configmap', 'cm1', '-o', 'jsonpath={.data.a}{.data.b}']), '23');
    const list = await c.kubectlOk(['-n', NS, 'get', 'configmaps', '-o', 'name']);
    assert.match(list, /configmap\/cm1/);
    await c.kubectlOk(['-n', NS, 'delete', 'configmap', 'cm1']);
    const gone = await c.kubectl(['-n', NS, 'get', 'configmap', 'cm1']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound/);
  });

  it('creates, gets, lists, patches and deletes core objects with client-node', async () => {
    const core = c.kube.api(k8s.CoreV1Api);
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 's1', labels: { t: 'x' } }, stringData: { password: 'p1' } },
    });
    const got = await core.readNamespacedSecret({ name: 's1', namespace: NS });
    assert.equal(Buffer.from(got.data!.password!, 'base64').toString(), 'p1');
    const list = await core.listNamespacedSecret({ namespace: NS, labelSelector: 't=x' });
    assert.deepEqual(list.items.map((s) => s.metadata!.name), ['s1']);
    await core.patchNamespacedSecret(
      { name: 's1', namespace: NS, body: { metadata: { labels: { t: 'y' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    assert.equal((await core.readNamespacedSecret({ name: 's1', namespace: NS })).metadata!.labels!.t, 'y');
    await core.deleteNamespacedSecret({ name: 's1', namespace: NS });
    await assert.rejects(core.readNamespacedSecret({ name: 's1', namespace: NS }), (e: { code?: number }) => e.code === 404);
    // The controller manager runs: a Deployment gets its ReplicaSet and Pods (Pending: no node yet).
    const apps = c.kube.api(k8s.AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'd1' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'd1' } },
          template: { metadata: { labels: { app: 'd1' } }, spec: { containers: [{ name: 'c', image: 'localhost/pgtls/debian:bookworm' }] } },
        },
      },
    });
    await eventually('the Deployment to create 2 pods', async () => {
      const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=d1' });
      return pods.items.length === 2 || undefined;
    });
    await apps.deleteNamespacedDeployment({ name: 'd1', namespace: NS });
  });

  it('deletes and evicts by uid: a successor of the same name is left alone (pgtls\'s client, as its controllers use it)', async () => {
    const ref = { apiVersion: 'v1', kind: 'Pod', name: 'same-name', namespace: NS };
    // Never scheduled (no such scheduler): the API server deletes it at once, no node involved.
    const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'same-name', namespace: NS }, spec: { schedulerName: 'nobody', containers: [{ name: 'c', image: 'localhost/pgtls/debian:bookworm' }] } };
    const uidOf = async () => (await c.kube.get<k8s.V1Pod>('v1', 'Pod', 'same-name', NS))?.metadata?.uid;
    await c.kube.create(body);
    const first = (await uidOf())!;
    assert.equal(await c.kube.delete(ref, { uid: 'not-its-uid' }), false, 'a uid that does not match deletes nothing');
    assert.equal(await uidOf(), first);
    assert.equal(await c.kube.delete(ref, { uid: first }), true);
    await eventually('the first pod gone', async () => (await uidOf()) === undefined || undefined, 30_000, 200);
    await c.kube.create(body);
    const second = (await uidOf())!;
    assert.notEqual(second, first);
    assert.equal(await c.kube.evict({ name: 'same-name', namespace: NS, uid: first }), false, 'the successor is not evicted for its predecessor');
    assert.equal(await c.kube.delete(ref, { uid: first }), false, 'nor deleted');
    assert.equal(await uidOf(), second);
    assert.equal(await c.kube.evict({ name: 'same-name', namespace: NS, uid: second }), true);
    await eventually('the second pod gone', async () => (await uidOf()) === undefined || undefined, 30_000, 200);
  });

  it('serves a CRD with a status subresource and printer columns; watch and kubectl wait work', async () => {
    await c.kube.apply(widgetCrd);
    await runOk('kubectl', ['wait', '--for=condition=Established', 'crd/widgets.test.pgtls.dev', '--timeout=60s'], { env: c.env });
    const custom = c.kube.api(k8s.CustomObjectsApi);
    const w = { apiVersion: 'test.pgtls.dev/v1', kind: 'Widget', metadata: { name: 'w1', namespace: NS }, spec: { size: 'small' } };
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify(w));
    // Schema validation is the API server's: a value outside the enum is refused.
    const bad = await c.kubectl(['apply', '-f', '-'], JSON.stringify({ ...w, metadata: { name: 'w2', namespace: NS }, spec: { size: 'huge' } }));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec\.size: Unsupported value: "huge": supported values: "small", "large"/);

    // A watch sees the status update; kubectl wait returns when the condition appears.
    const events: string[] = [];
    const watch = new k8s.Watch(c.kube.kc);
    const req = await watch.watch(
      `/apis/test.pgtls.dev/v1/namespaces/${NS}/widgets`,
      {},
      (type: string, obj: { status?: { phase?: string } }) => events.push(`${type}:${obj.status?.phase ?? ''}`),
      () => undefined,
    );
    const waiter = run('kubectl', ['-n', NS, 'wait', '--for=condition=Ready', 'widget/w1', '--timeout=60s'], { env: c.env });
    await sleep(1000);
    // Writing spec through /status is ignored; status goes only through the subresource.
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: 'test.pgtls.dev',
        version: 'v1',
        namespace: NS,
        plural: 'widgets',
        name: 'w1',
        body: { spec: { size: 'large' }, status: { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Test' }] } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const waited = await waiter;
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /widget.test.pgtls.dev\/w1 condition met/);
    await eventually('the watch to see the status update', async () => events.includes('MODIFIED:Ready'));
    req.abort();
    assert.ok(events.includes('ADDED:'), events.join(','));

    const table = await c.kubectlOk(['-n', NS, 'get', 'wd', 'w1']);
    const [header, row] = table.trim().split('\n');
    assert.match(header!, /^NAME\s+SIZE\s+STATUS\s+AGE$/);
    assert.match(row!, /^w1\s+small\s+Ready\s+\d+s$/);
  });

  it('issues a Certificate from a SelfSigned Issuer', async () => {
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'selfsigned', namespace: NS }, spec: { selfSigned: {} } }));
    await c.kubectlOk(['-n', NS, 'wait', '--for=condition=Ready', 'issuer/selfsigned', '--timeout=60s']);
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'ss-cert', namespace: NS },
      spec: { secretName: 'ss-cert', commonName: 'selfsigned-ca', isCA: true, issuerRef: { name: 'selfsigned', kind: 'Issuer' } },
    }));
    await c.kubectlOk(['-n', NS, 'wait', '--for=condition=Ready', 'certificate/ss-cert', '--timeout=90s']);
    const secret = await c.kube.api(k8s.CoreV1Api).readNamespacedSecret({ name: 'ss-cert', namespace: NS });
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(secret.data!).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const files = writeSecretFiles(tmpDir(), secret.data!);
    assert.equal((await runOk('openssl', ['verify', '-CAfile', files['ca.crt']!, files['tls.crt']!])).trim(), `${files['tls.crt']}: OK`);
    assert.match(await x509Field(files['tls.crt']!, '-subject'), /CN=selfsigned-ca/);
  });

  let caFiles: { crt: string; key: string };
  it('issues a Certificate from a CA Issuer whose secret was made with openssl and kubectl create secret tls', async () => {
    const dir = tmpDir();
    caFiles = await makeCa(dir, '/CN=ca/O=kubedb');
    await c.kubectlOk(['create', 'secret', 'tls', 'postgres-ca', `--cert=${caFiles.crt}`, `--key=${caFiles.key}`, `--namespace=${NS}`]);
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'pg-issuer', namespace: NS }, spec: { ca: { secretName: 'postgres-ca' } } }));
    await c.kubectlOk(['-n', NS, 'wait', '--for=condition=Ready', 'issuer/pg-issuer', '--timeout=60s']);
    assert.match(await c.kubectlOk(['-n', NS, 'get', 'issuer']), /pg-issuer\s+True/);
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'pg-server-cert', namespace: NS },
      spec: {
        secretName: 'pg-server-cert',
        commonName: 'pg',
        dnsNames: ['pg', 'pg.e2e.svc', 'localhost'],
        ipAddresses: ['127.0.0.1'],
        usages: ['digital signature', 'key encipherment', 'server auth'],
        issuerRef: { name: 'pg-issuer', kind: 'Issuer', group: 'cert-manager.io' },
      },
    }));
    await c.kubectlOk(['-n', NS, 'wait', '--for=condition=Ready', 'certificate/pg-server-cert', '--timeout=90s']);
    const secret = await c.kube.api(k8s.CoreV1Api).readNamespacedSecret({ name: 'pg-server-cert', namespace: NS });
    const files = writeSecretFiles(tmpDir(), secret.data!);
    // ca.crt is the openssl-made CA, byte for byte; the leaf verifies against the original file.
    assert.equal(readFileSync(files['ca.crt']!, 'utf8'), readFileSync(caFiles.crt, 'utf8'));
    assert.equal((await runOk('openssl', ['verify', '-CAfile', caFiles.crt, files['tls.crt']!])).trim(), `${files['tls.crt']}: OK`);
    assert.equal(await x509Field(files['tls.crt']!, '-issuer'), 'issuer=O=kubedb,CN=ca');
    const san = await x509Field(files['tls.crt']!, '-ext');
    assert.match(san, /DNS:pg, DNS:pg\.e2e\.svc, DNS:localhost, IP Address:127\.0\.0\.1/);
    const mod = async (args: string[]) => (await runOk('openssl', args)).trim();
    // The key in the secret belongs to the certificate.
    assert.equal(
      await mod(['pkey', '-in', files['tls.key']!, '-pubout']),
      await mod(['x509', '-in', files['tls.crt']!, '-noout', '-pubkey']),
    );
  });

  it('re-issues a Certificate marked for renewal (the Issuing condition, as cmctl renew sets it)', async () => {
    const core = c.kube.api(k8s.CoreV1Api);
    const before = await core.readNamespacedSecret({ name: 'pg-server-cert', namespace: NS });
    const beforeSerial = await x509Field(writeSecretFiles(tmpDir(), before.data!)['tls.crt']!, '-serial');
    const custom = c.kube.api(k8s.CustomObjectsApi);
    const cert = (await custom.getNamespacedCustomObject({ group: 'cert-manager.io', version: 'v1', namespace: NS, plural: 'certificates', name: 'pg-server-cert' })) as {
      status: { revision: number; conditions: object[] };
    };
    const revision = cert.status.revision;
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: 'cert-manager.io',
        version: 'v1',
        namespace: NS,
        plural: 'certificates',
        name: 'pg-server-cert',
        body: {
          status: {
            conditions: [
              ...cert.status.conditions,
              { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'Certificate re-issuance manually triggered', lastTransitionTime: new Date().toISOString() },
            ],
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const after = await eventually('the certificate to be re-issued', async () => {
      const got = (await custom.getNamespacedCustomObject({ group: 'cert-manager.io', version: 'v1', namespace: NS, plural: 'certificates', name: 'pg-server-cert' })) as {
        status: { revision: number; conditions: { type: string; status: string }[] };
      };
      const ready = got.status.conditions.some((x) => x.type === 'Ready' && x.status === 'True');
      const issuing = got.status.conditions.some((x) => x.type === 'Issuing');
      return got.status.revision === revision + 1 && ready && !issuing ? got : undefined;
    }, 90_000);
    assert.equal(after.status.revision, revision + 1);
    const now = await core.readNamespacedSecret({ name: 'pg-server-cert', namespace: NS });
    const files = writeSecretFiles(tmpDir(), now.data!);
    assert.notEqual(await x509Field(files['tls.crt']!, '-serial'), beforeSerial);
    assert.equal((await runOk('openssl', ['verify', '-CAfile', caFiles.crt, files['tls.crt']!])).trim(), `${files['tls.crt']}: OK`);
  });

  it('listens on loopback only', async () => {
    const pids = new Set<string>();
    for (const comp of c.handle.components) pids.add(readFileSync(join(c.layout.pids, `${comp.name}.pid`), 'utf8').trim());
    const ss = await runOk('ss', ['-ltnupH']);
    const ours = ss.split('\n').filter((l) => [...pids].some((p) => l.includes(`pid=${p},`)));
    assert.ok(ours.length >= c.handle.components.length, `expected listeners of ${[...pids].join(',')}, got:\n${ss}`);
    for (const line of ours) {
      const local = line.trim().split(/\s+/)[4]!;
      assert.match(local, /^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$/, `non-loopback listener: ${line}`);
    }
  });

  it('keeps objects across down and up, and status reports the components', async () => {
    await c.stop();
    const stopped = await runOk('node', ['--import', 'tsx', 'src/cli/main.ts', 'status'], { env: c.env });
    assert.match(stopped, /kube-apiserver\s+stopped/);
    await c.restart();
    const status = await runOk('node', ['--import', 'tsx', 'src/cli/main.ts', 'status'], { env: c.env });
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'cert-manager']) {
      assert.match(status, new RegExp(`${name}\\s+running\\s+pid \\d+\\n`));
    }
    assert.equal(await c.kubectlOk(['-n', NS, 'get', 'widget', 'w1', '-o', 'jsonpath={.status.phase}']), 'Ready');
    assert.match(await c.kubectlOk(['-n', NS, 'get', 'certificate', 'pg-server-cert']), /pg-server-cert\s+True/);
    // cert-manager works after the restart too.
    await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'after-restart', namespace: NS },
      spec: { secretName: 'after-restart', commonName: 'x', issuerRef: { name: 'pg-issuer', kind: 'Issuer' } },
    }));
    await c.kubectlOk(['-n', NS, 'wait', '--for=condition=Ready', 'certificate/after-restart', '--timeout=90s']);
  });
});
