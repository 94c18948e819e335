import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { buildComponents, clusterComponents, nodeNetworkEnabled } from '../../../src/local/controlplane/cluster.ts';
import { admissionConfig, WEBHOOK_CLIENT, webhookKubeconfig } from '../../../src/local/controlplane/webhook-client.ts';
import { newClusterConfig, portsFrom } from '../../../src/local/controlplane/config.ts';
import { pkiFiles } from '../../../src/local/controlplane/pki.ts';
import { homeLayout } from '../../../src/local/home.ts';
import { binaryPaths } from '../../../src/local/controlplane/versions.ts';

const versions = { kubernetes: '1.34.4', etcd: '3.6.6', certManager: '1.11.5' };
const layout = homeLayout('/h');
const comps = buildComponents(newClusterConfig(versions, 30000), layout, pkiFiles('/h/pki'), binaryPaths(versions, '/cache'));
const byName = Object.fromEntries(comps.map((c) => [c.name, c]));
const flag = (name: string, f: string) => byName[name]!.args.find((a) => a.startsWith(`--${f}=`))?.split('=').slice(1).join('=');

describe('control-plane component records', () => {
  it('start in link order: etcd, then the API server, then its clients', () => {
    // The net gateway exists where the host can make network namespaces (root).
    const gateway = nodeNetworkEnabled() ? ['net-gateway'] : [];
    assert.deepEqual(comps.map((c) => c.name), ['etcd', 'kube-apiserver', ...gateway, 'kube-controller-manager', 'kube-scheduler', 'cert-manager', 'node-agent']);
    const seen = new Set<string>();
    for (const c of comps) {
      for (const l of c.links) assert.ok(seen.has(l), `${c.name} starts before ${l}`);
      seen.add(c.name);
    }
  });

  it('bind every listener to loopback', () => {
    assert.equal(flag('etcd', 'listen-client-urls'), 'https://127.0.0.1:30001');
    assert.equal(flag('etcd', 'listen-peer-urls'), 'http://127.0.0.1:30002');
    for (const n of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) assert.equal(flag(n, 'bind-address'), '127.0.0.1');
    assert.equal(flag('cert-manager', 'metrics-listen-address'), '127.0.0.1:30005');
    for (const c of comps) {
      if (c.health!.socketPath) assert.ok(c.health!.socketPath.startsWith('/h/'), `${c.name} is asked on a socket in the home`);
      else assert.match(c.health!.url, /^https?:\/\/127\.0\.0\.1:/);
    }
  });

  it('use client-certificate authentication, RBAC and no loopback Endpoints', () => {
    assert.equal(flag('kube-apiserver', 'authorization-mode'), 'Node,RBAC');
    assert.equal(flag('kube-apiserver', 'anonymous-auth'), 'false');
    assert.equal(flag('kube-apiserver', 'client-ca-file'), '/h/pki/ca.crt');
    assert.equal(flag('kube-apiserver', 'endpoint-reconciler-type'), 'none');
    assert.equal(flag('etcd', 'client-cert-auth'), 'true');
    assert.match(flag('kube-controller-manager', 'controllers')!, /-endpointslice,-endpointslicemirroring/);
  });

  it('make the API server present a client certificate to webhooks, and the operator require it (issue 11 item 3)', () => {
    assert.equal(flag('kube-apiserver', 'admission-control-config-file'), '/h/admission-config.yaml');
    const conf = parse(admissionConfig('/h/admission-webhook.kubeconfig')) as { kind: string; plugins: { name: string; configuration: { kubeConfigFile: string } }[] };
    assert.equal(conf.kind, 'AdmissionConfiguration');
    assert.deepEqual(conf.plugins.map((p) => [p.name, p.configuration.kubeConfigFile]), [['ValidatingAdmissionWebhook', '/h/admission-webhook.kubeconfig'], ['MutatingAdmissionWebhook', '/h/admission-webhook.kubeconfig']]);
    const kc = parse(webhookKubeconfig('/h/pki/c.crt', '/h/pki/c.key')) as { users: { name: string; user: Record<string, string> }[] };
    assert.deepEqual(kc.users, [{ name: '*', user: { 'client-certificate': '/h/pki/c.crt', 'client-key': '/h/pki/c.key' } }]);
    const op = clusterComponents(newClusterConfig(versions, 30000), layout, pkiFiles('/h/pki'), binaryPaths(versions, '/cache')).find((c) => c.name === 'operator')!;
    assert.ok(op.args.includes('--webhook-client-ca=/h/pki/ca.crt'));
    assert.ok(op.args.includes(`--webhook-client-name=${WEBHOOK_CLIENT.commonName}`));
  });

  it('take binaries from the cache by version', () => {
    assert.equal(byName['kube-apiserver']!.binary, '/cache/kube-apiserver-1.34.4/kube-apiserver');
    assert.equal(byName['cert-manager']!.binary, '/cache/cert-manager-controller-1.11.5/cert-manager-controller');
  });

  it('refuse a port base out of range', () => {
    assert.throws(() => portsFrom(80), /port base must be an integer from 1024 to 65000, got 80/);
  });
});
