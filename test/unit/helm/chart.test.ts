// The Helm chart: its generated parts are current, every value is documented,
// `helm lint` passes, and what `helm template` renders is what the operator is
// written against (its ClusterRole, its webhook objects, flags it accepts) and
// hardened as the chart promises.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../../src/util/repo.ts';
import { CHART_DIR, documentedValues, renderChartFiles, renderReadme } from '../../../src/install/chart-files.ts';
import { chartPath, helmMissing, runHelm, runHelmOk } from '../../../src/install/helm.ts';
import { chartInstallArgs } from '../../../src/install/local-chart.ts';
import { operatorImageRef } from '../../../src/install/operator-image.ts';
import { operatorClusterRules, operatorNamespaceRules } from '../../../src/operator/rbac.ts';
import { webhookCertObjects } from '../../../src/operator/webhook-cert.ts';
import { buildMutatingWebhookConfiguration, buildValidatingWebhookConfiguration } from '../../../src/webhook/registration.ts';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };

const chart = join(repoRoot(), CHART_DIR);
const skipHelm = helmMissing();
const state = mkdtempSync(join(tmpdir(), 'pgtls-helm-unit-'));
process.on('exit', () => rmSync(state, { recursive: true, force: true }));

async function template(...set: string[]): Promise<Obj[]> {
  const out = await runHelmOk(['template', 'pgtls', chartPath(), '-n', 'pgtls-system', ...set.flatMap((s) => ['--set', s])], { stateDir: state });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o);
}
const find = (objs: Obj[], kind: string, name?: string) => objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

describe('chart sources', () => {
  it('the generated files are current (run: npm run gen)', () => {
    const expected = renderChartFiles();
    for (const dir of ['crds', 'files']) {
      const onDisk = readdirSync(join(chart, dir)).map((f) => `${dir}/${f}`).sort();
      assert.deepEqual(onDisk, [...expected.keys()].filter((k) => k.startsWith(`${dir}/`)).sort(), `${dir}/ holds other files than the generator writes`);
    }
    for (const [rel, text] of expected) assert.equal(readFileSync(join(chart, rel), 'utf8'), text, `${rel} is stale`);
    const readme = readFileSync(join(chart, 'README.md'), 'utf8');
    assert.equal(readme, renderReadme(readme, readFileSync(join(chart, 'values.yaml'), 'utf8')), 'README.md values table is stale');
  });

  it('the CRDs in the chart are deploy/crds', () => {
    for (const f of readdirSync(join(repoRoot(), 'deploy', 'crds'))) {
      assert.equal(readFileSync(join(chart, 'crds', f), 'utf8'), readFileSync(join(repoRoot(), 'deploy', 'crds', f), 'utf8'), f);
    }
  });

  it('every value is in the README table, with a description', () => {
    const values = readFileSync(join(chart, 'values.yaml'), 'utf8');
    const readme = readFileSync(join(chart, 'README.md'), 'utf8');
    const docs = documentedValues(values);
    assert.ok(docs.length >= 30, `${docs.length} documented values`);
    for (const d of docs) {
      assert.ok(d.description.length > 3, d.key);
      assert.ok(readme.includes(`| \`${d.key}\` |`), `${d.key} missing from README.md`);
    }
  });

  it('an undocumented value is an error naming it', () => {
    assert.throws(() => documentedValues('# -- documented\na: 1\nb:\n  c: 2\n'), /b\.c/);
    assert.deepEqual(documentedValues('# -- the map\nm:\n  x: 1\n').map((d) => [d.key, d.type, d.default]), [['m', 'object', '{"x":1}']]);
  });
});

describe('pgtls up --operator=chart', () => {
  it('installs the release with the image built here, waits, and leaves the catalog to up', () => {
    const args = chartInstallArgs({ kubeconfig: '/h/kubeconfig', stateDir: '/h/helm', timeoutMs: 90_000, set: ['logLevel=debug'] });
    assert.deepEqual(args.slice(0, 4), ['upgrade', '--install', 'pgtls', chartPath()]);
    const sets = args.flatMap((a, i) => (args[i - 1] === '--set' ? [a] : []));
    const [repo, tag] = [operatorImageRef().slice(0, operatorImageRef().lastIndexOf(':')), operatorImageRef().slice(operatorImageRef().lastIndexOf(':') + 1)];
    assert.deepEqual(sets, [`image.repository=${repo}`, `image.tag=${tag}`, 'catalog.install=false', 'logLevel=debug']);
    for (const a of ['--create-namespace', '--wait']) assert.ok(args.includes(a), a);
    assert.equal(args[args.indexOf('--timeout') + 1], '90s');
    assert.equal(args[args.indexOf('--namespace') + 1], 'pgtls-system');
    assert.ok(!chartInstallArgs({ kubeconfig: 'k', stateDir: 's', wait: false }).includes('--wait'));
  });
});

describe('helm lint and template', { skip: skipHelm }, () => {
  it('helm lint --strict passes', async () => {
    const r = await runHelm(['lint', '--strict', chartPath()], { stateDir: state });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /0 chart\(s\) failed/);
  });

  it('renders the operator: ServiceAccount, ClusterRole and Role from src/operator/rbac.ts bound to it, 2 hardened replicas, PDB, Services', async () => {
    const objs = await template();
    const kinds = objs.map((o) => o.kind).sort();
    for (const k of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'PodDisruptionBudget', 'Service', 'Issuer', 'Certificate', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'PostgresVersion']) {
      assert.ok(kinds.includes(k), `${k} rendered`);
    }
    for (const k of ['ServiceMonitor', 'PrometheusRule', 'NetworkPolicy']) assert.ok(!kinds.includes(k), `${k} is off by default`);
    const role = find(objs, 'ClusterRole')!;
    const json = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
    assert.deepEqual(role.rules, json(operatorClusterRules()));
    type Binding = Obj & { subjects: { kind: string; name: string; namespace: string }[]; roleRef: { kind: string; name: string } };
    const binding = find(objs, 'ClusterRoleBinding')! as Binding;
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'pgtls', namespace: 'pgtls-system' }]);
    assert.equal(binding.roleRef.name, role.metadata.name);
    // What only the operator owns (Lease, webhook Issuers, readiness dry run): in the release namespace only.
    const nsRole = find(objs, 'Role')!;
    assert.equal(nsRole.metadata.namespace, 'pgtls-system');
    assert.deepEqual(nsRole.rules, json(operatorNamespaceRules()));
    const nsBinding = find(objs, 'RoleBinding')! as Binding;
    assert.equal(nsBinding.metadata.namespace, 'pgtls-system');
    assert.deepEqual(nsBinding.subjects, binding.subjects);
    assert.deepEqual([nsBinding.roleRef.kind, nsBinding.roleRef.name], ['Role', nsRole.metadata.name]);

    type Pod = { securityContext: Record<string, unknown>; serviceAccountName: string; containers: { args: string[]; securityContext: Record<string, unknown>; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } }; volumeMounts: { mountPath: string }[] }[]; affinity?: unknown };
    const dep = find(objs, 'Deployment')! as Obj & { spec: { replicas: number; template: { spec: Pod } } };
    assert.equal(dep.spec.replicas, 2);
    const pod = dep.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'pgtls');
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } });
    const c = pod.containers[0]!;
    assert.deepEqual(c.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.ok(pod.affinity, 'anti-affinity by default');
    // Writable: only the emptyDirs, one of them the webhook's --cert-dir.
    assert.deepEqual(c.volumeMounts.map((m) => m.mountPath).sort(), ['/tmp', '/var/run/pgtls/webhook']);
    assert.ok(c.args.includes('--cert-dir=/var/run/pgtls/webhook'));
    assert.ok(c.args.includes('--webhook-service=pgtls-system/pgtls-webhook'));
    assert.ok(!c.args.some((a) => a.startsWith('--kubeconfig')), 'in-cluster: the ServiceAccount, no kubeconfig');
    const pdb = find(objs, 'PodDisruptionBudget')! as Obj & { spec: { minAvailable: number } };
    assert.equal(pdb.spec.minAvailable, 1);
  });

  it('the Deployment passes only flags `pgtls operator` accepts', async () => {
    const objs = await template('extraArgs={--lease-namespace=x}', 'leaderElection.enabled=false');
    const dep = find(objs, 'Deployment')! as Obj & { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    const [cmd, ...flags] = dep.spec.template.spec.containers[0]!.args;
    assert.equal(cmd, 'operator');
    const help = execFileSync(process.execPath, [join(repoRoot(), 'bin', 'pgtls.mjs'), 'operator', '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
    const known = new Set([...help.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!));
    for (const f of flags) assert.ok(known.has(f.split('=')[0]!), `${f} is a flag of pgtls operator`);
    assert.ok(flags.includes('--no-leader-elect') && flags.includes('--lease-namespace=x'));
  });

  it('certificate policy and worker values become the operator\'s flags', async () => {
    const args = async (...set: string[]) => {
      const dep = find(await template(...set), 'Deployment')! as Obj & { spec: { template: { spec: { containers: { args: string[] }[] } } } };
      return dep.spec.template.spec.containers[0]!.args;
    };
    const byDefault = await args();
    for (const f of ['--workers=4', '--ops-workers=16', '--resync=30', '--own-client-ca=cluster-issuers']) assert.ok(byDefault.includes(f), f);
    assert.ok(!byDefault.some((a) => a.startsWith('--allow-certificate-names') || a.startsWith('--allowed-cluster-issuers')), 'no policy flags by default (any ClusterIssuer, own names only)');
    const set = await args('certificatePolicy.allowCertificateNames={*.db.example.com,10.0.0.0/8}', 'certificatePolicy.allowedClusterIssuers={ca-a,ca-b}', 'certificatePolicy.ownClientCa=always', 'workers=8', 'opsWorkers=2', 'resyncSeconds=60');
    for (const f of ['--allow-certificate-names=*.db.example.com,10.0.0.0/8', '--allowed-cluster-issuers=ca-a,ca-b', '--own-client-ca=always', '--workers=8', '--ops-workers=2', '--resync=60']) assert.ok(set.includes(f), `${f} in ${set.join(' ')}`);
    // An empty list allows no ClusterIssuer at all, which differs from leaving the value unset.
    assert.ok((await args('certificatePolicy.allowedClusterIssuers={}')).includes('--allowed-cluster-issuers='));
  });

  it('webhook objects are what the operator applies itself (same names and specs; caBundle left to the operator)', async () => {
    const objs = await template();
    const svc = find(objs, 'Service', 'pgtls-webhook')! as Obj & { spec: { ports: { port: number; targetPort: string }[] } };
    assert.deepEqual(svc.spec.ports.map((p) => [p.port, p.targetPort]), [[443, 'webhook']]);
    const endpoint = { service: { namespace: 'pgtls-system', name: 'pgtls-webhook', port: 443 } };
    const strip = (c: { webhooks: { clientConfig: object }[] }) => c.webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: undefined } }));
    const json = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
    assert.deepEqual(find(objs, 'MutatingWebhookConfiguration')!.webhooks, json(strip(buildMutatingWebhookConfiguration({ endpoint, caBundle: 'x' }) as never)));
    assert.deepEqual(find(objs, 'ValidatingWebhookConfiguration')!.webhooks, json(strip(buildValidatingWebhookConfiguration({ endpoint, caBundle: 'x' }) as never)));
    assert.equal(find(objs, 'MutatingWebhookConfiguration')!.metadata.name, 'pgtls-mutators');
    assert.equal(find(objs, 'ValidatingWebhookConfiguration')!.metadata.name, 'pgtls-validators');
    const applied = webhookCertObjects({ namespace: 'pgtls-system', dnsNames: ['pgtls-webhook.pgtls-system.svc', 'pgtls-webhook.pgtls-system.svc.cluster.local'] });
    for (const o of applied) {
      const got = find(objs, o.kind!, o.metadata!.name!);
      assert.ok(got, `${o.kind} ${o.metadata!.name}`);
      assert.deepEqual(json({ metadata: got.metadata, spec: got.spec }), json({ metadata: o.metadata, spec: o.spec }));
    }
  });

  it('options: one replica has no PDB; ServiceMonitor, PrometheusRule (7-day expiry, mismatch) and NetworkPolicy on request', async () => {
    const one = await template('replicaCount=1');
    assert.equal(find(one, 'PodDisruptionBudget'), undefined);
    const all = await template('metrics.serviceMonitor.enabled=true', 'metrics.prometheusRule.enabled=true', 'networkPolicy.enabled=true');
    const sm = find(all, 'ServiceMonitor')! as Obj & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] } };
    const metricsSvc = find(all, 'Service', 'pgtls-metrics')!;
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(metricsSvc.metadata.labels?.[k], v, `the ServiceMonitor selects the metrics Service (${k})`);
    assert.equal(sm.spec.endpoints[0]!.port, 'metrics');
    const rule = find(all, 'PrometheusRule')! as Obj & { spec: { groups: { rules: { alert: string; expr: string }[] }[] } };
    const exprs = Object.fromEntries(rule.spec.groups[0]!.rules.map((r) => [r.alert, r.expr]));
    assert.equal(exprs.PgtlsServedCertificateExpiringSoon, 'pgtls_served_certificate_expiry_timestamp_seconds - time() < 7 * 86400');
    assert.equal(exprs.PgtlsServedCertificateDiffersFromSecret, 'pgtls_served_certificate_matches_secret == 0');
    const np = find(all, 'NetworkPolicy')! as Obj & { spec: { ingress: { ports: { port: string }[]; from?: unknown[] }[] } };
    const rules = Object.fromEntries(np.spec.ingress.map((r) => [r.ports[0]!.port, r.from]));
    assert.equal(rules.webhook, undefined, 'webhook port open to the API server wherever it is');
    assert.deepEqual(rules.metrics, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  });

  it('bad values fail with a message naming them', async () => {
    const r = await runHelm(['template', 'pgtls', chartPath(), '--set', 'podAntiAffinity=sometimes'], { stateDir: state });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /podAntiAffinity: "sometimes" is not one of soft, hard, none/);
  });
});
