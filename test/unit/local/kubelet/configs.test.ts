// The kubelet runtime's pure parts: configuration files, the control-plane
// changes, cgroup paths, sysctl masks, nsenter argv.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { homeLayout } from '../../../../src/local/home.ts';
import { kubeletNodeLayout } from '../../../../src/local/kubelet/layout.ts';
import { cniConfList, containerdConfig, kubeletConfig, kubeProxyConfig } from '../../../../src/local/kubelet/configs.ts';
import { adaptControlPlane, buildKubeletRuntime, kubeletRuntimeBinaries } from '../../../../src/local/kubelet/components.ts';
import { cgroupRootFor, ownCgroupPath } from '../../../../src/local/kubelet/cgroups.ts';
import { mountScript, sysctlsToMask } from '../../../../src/local/kubelet/namespaces.ts';
import { nsenterArgs } from '../../../../src/local/kubelet/launch.ts';
import { parseRuntime } from '../../../../src/local/kubelet/runtime.ts';
import { corednsObjects, corefile } from '../../../../src/local/kubelet/coredns.ts';
import type { Component } from '../../../../src/local/controlplane/component.ts';
import { newClusterConfig } from '../../../../src/local/controlplane/config.ts';

const versions = { kubernetes: '1.34.4', etcd: '3.6.6', certManager: '1.11.5' };
const cfg = { ...newClusterConfig(versions, 21800), runtime: 'kubelet' as const };
const home = homeLayout('/tmp/h');
const node = kubeletNodeLayout(home, cfg);

describe('kubelet runtime layout and configuration', () => {
  it('keeps every file under the home and names the namespace after the API server port', () => {
    assert.equal(node.netns, 'pgtls-21800');
    for (const p of [node.containerdSock, node.containerdRoot, node.kubeletRoot, node.mountNs, node.cniIpamDir, node.podLogs]) assert.ok(p.startsWith('/tmp/h/data/kubelet-node/'), p);
    assert.ok(node.containerdSock.length < 108, 'unix socket paths fit sun_path');
  });

  it('configures containerd with its own root, state, socket, runc root, pause image and no OOM score below its own', () => {
    const toml = containerdConfig(node, { pauseVersion: '3.10.1' });
    assert.match(toml, /^root = "\/tmp\/h\/data\/kubelet-node\/containerd\/root"$/m);
    assert.match(toml, /^state = "\/tmp\/h\/data\/kubelet-node\/containerd\/state"$/m);
    assert.match(toml, /address = "\/tmp\/h\/data\/kubelet-node\/run\/containerd.sock"/);
    assert.match(toml, /sandbox_image = "pgtls.local\/pause:3.10.1"/);
    assert.match(toml, /restrict_oom_score_adj = true/);
    assert.match(toml, /SystemdCgroup = false/);
    assert.match(toml, /Root = "\/tmp\/h\/data\/kubelet-node\/run\/runc"/);
  });

  it('gives pods the bridge network with the node address as gateway and IPAM state in the home', () => {
    const c = JSON.parse(cniConfList(node));
    const bridge = c.plugins[0];
    assert.equal(bridge.type, 'bridge');
    assert.equal(bridge.bridge, 'pgtls0');
    assert.deepEqual(bridge.ipam.ranges, [[{ subnet: '10.244.0.0/16', gateway: '10.244.0.1' }]]);
    assert.equal(bridge.ipam.dataDir, node.cniIpamDir);
  });

  it('runs the kubelet with cgroupfs on cgroup v1, no swap check, no kernel writes and no OOM score change', () => {
    const k = parse(kubeletConfig(node, { nodeName: 'n', pauseVersion: '3.10.1', cgroupRoot: '/a/pgtls-21800', clientCaFile: 'ca', servingCert: 'c', servingKey: 'k' }));
    assert.equal(k.cgroupDriver, 'cgroupfs');
    assert.equal(k.cgroupRoot, '/a/pgtls-21800');
    assert.equal(k.failCgroupV1, false);
    assert.equal(k.failSwapOn, false);
    assert.equal(k.protectKernelDefaults, false);
    assert.equal(k.oomScoreAdj, 0);
    assert.equal(k.address, '10.244.0.1');
    assert.equal(k.resolvConf, '');
    assert.deepEqual(k.clusterDNS, ['10.96.0.10']);
    assert.equal(k.authentication.anonymous.enabled, false);
    assert.equal(k.containerRuntimeEndpoint, `unix://${node.containerdSock}`);
  });

  it('runs kube-proxy in iptables mode and leaves the host-global conntrack settings alone', () => {
    const p = parse(kubeProxyConfig('/kc', 'n'));
    assert.equal(p.mode, 'iptables');
    assert.equal(p.conntrack.maxPerCore, 0);
    assert.equal(p.conntrack.tcpEstablishedTimeout, '0s');
  });

});

describe('kubelet runtime components', () => {
  const cp: Component[] = [
    { name: 'kube-apiserver', binary: '/b', links: [], ports: [], args: ['--advertise-address=127.0.0.1', '--endpoint-reconciler-type=none', '--v=1'] },
    { name: 'net-gateway', binary: '/b', links: ['kube-apiserver'], ports: [], args: ['gateway'] },
    { name: 'kube-controller-manager', binary: '/b', links: [], ports: [], args: ['--controllers=*,-endpointslice,-endpointslicemirroring,-nodeipam'] },
    { name: 'operator', binary: '/b', links: ['kube-apiserver', 'node-agent'], ports: [], args: [] },
  ];

  it('makes the API server reach nodes by InternalIP, advertise the node address, and leaves Services to kube-proxy', () => {
    const out = adaptControlPlane(cp);
    const api = out.find((c) => c.name === 'kube-apiserver')!.args;
    assert.ok(api.includes('--kubelet-preferred-address-types=InternalIP'));
    assert.deepEqual(out.find((c) => c.name === 'net-gateway')!.args, ['gateway', '--no-service-proxy']);
    assert.ok(api.includes('--advertise-address=10.244.0.1'));
    assert.ok(api.includes('--endpoint-reconciler-type=lease'));
    assert.ok(!api.includes('--endpoint-reconciler-type=none'));
    assert.ok(out.find((c) => c.name === 'kube-controller-manager')!.args[0]!.includes('*,-nodeipam'));
    assert.ok(!out.find((c) => c.name === 'kube-controller-manager')!.args[0]!.includes('endpointslice'));
    assert.deepEqual(out.find((c) => c.name === 'operator')!.links, ['kube-apiserver', 'kubelet']);
  });

  it('runs containerd, the kubelet and kube-proxy inside both node namespaces, the provisioner on the host', () => {
    const comps = buildKubeletRuntime({
      cfg,
      node,
      bins: kubeletRuntimeBinaries({ kubernetes: '1.34.4', crictl: '1.34.0', coredns: '1.12.1', pause: '3.10.1' }, '/cache'),
      nodeName: 'pgtls-node',
      kubeletKubeconfig: '/k',
      kubeProxyKubeconfig: '/kp',
      provisioner: { kubeconfig: '/p', volumesDir: '/v' },
    });
    assert.deepEqual(comps.map((c) => c.name), ['local-path-provisioner', 'containerd', 'kubelet', 'kube-proxy']);
    const byName = new Map(comps.map((c) => [c.name, c]));
    assert.equal(byName.get('local-path-provisioner')!.namespaces, undefined);
    assert.deepEqual(byName.get('containerd')!.links, ['net-gateway']);
    for (const n of ['containerd', 'kubelet', 'kube-proxy']) assert.deepEqual(byName.get(n)!.namespaces, { net: '/run/netns/pgtls-21800', mount: node.mountNs });
    assert.equal(byName.get('kubelet')!.binary, '/cache/kubelet-1.34.4/kubelet');
    assert.deepEqual(nsenterArgs(byName.get('kube-proxy')!).slice(0, 4), ['--net=/run/netns/pgtls-21800', `--mount=${node.mountNs}`, '--', '/cache/kube-proxy-1.34.4/kube-proxy']);
  });

  it('accepts only the known runtimes, naming them', () => {
    assert.equal(parseRuntime(undefined), 'node-agent');
    assert.equal(parseRuntime('kubelet'), 'kubelet');
    assert.throws(() => parseRuntime('docker'), /--runtime must be one of node-agent, kubelet; got "docker"/);
  });
});

describe('kubelet runtime host changes', () => {
  it('puts the cgroup root under the deepest cgroup this process is in', () => {
    const text = '9:name=systemd:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n';
    assert.equal(ownCgroupPath(text), '/process_api/abc');
    assert.equal(cgroupRootFor(text, 21800), '/process_api/abc/pgtls-21800');
    assert.equal(cgroupRootFor('0::/\n', 16443), '/pgtls-16443');
  });

  it('masks only the kubelet sysctls whose host value differs, inside the mount namespace', () => {
    const host: Record<string, string> = { 'vm/overcommit_memory': '0\n', 'vm/panic_on_oom': '0\n', 'kernel/panic': '1\n', 'kernel/panic_on_oops': '1\n' };
    const masks = sysctlsToMask((k) => host[k]);
    assert.deepEqual(masks, [
      ['vm/overcommit_memory', '1'],
      ['kernel/panic', '10'],
    ]);
    const script = mountScript(node, masks);
    assert.match(script, /mount -t tmpfs -o mode=0755 pgtls-run \/run/);
    assert.match(script, /mount -t overlay pgtls-varlib -o lowerdir=\/var\/lib,upperdir=/);
    assert.match(script, /mount --bind \S+\/sysctls\/vm\.overcommit_memory \/proc\/sys\/vm\/overcommit_memory/);
    assert.doesNotMatch(script, /panic_on_oom/);
  });
});

describe('cluster DNS', () => {
  it('serves only the cluster domain (no forward) behind kube-dns at the kubelet clusterDNS address', () => {
    assert.doesNotMatch(corefile(), /forward/);
    const objs = corednsObjects('pgtls.local/coredns:1.12.1');
    const svc = objs.find((o) => o.kind === 'Service') as { spec: { clusterIP: string } };
    assert.equal(svc.spec.clusterIP, '10.96.0.10');
    const dep = objs.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: { image: string; imagePullPolicy: string }[] } } } };
    assert.equal(dep.spec.template.spec.containers[0]!.image, 'pgtls.local/coredns:1.12.1');
    assert.equal(dep.spec.template.spec.containers[0]!.imagePullPolicy, 'IfNotPresent');
  });
});
