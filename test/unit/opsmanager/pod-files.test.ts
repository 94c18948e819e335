import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { k8s } from '../../../src/kube/client.ts';
import { checkPodFiles, expectedSecretFiles, filesMark, staleFiles } from '../../../src/opsmanager/pod-files.ts';
import { FakeKube } from '../../helpers/fake-kube.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const pod: k8s.V1Pod = {
  metadata: { name: 'pb-0', namespace: 'demo', labels: { 'app.kubernetes.io/instance': 'pb' } },
  spec: {
    containers: [
      {
        name: 'pgbouncer',
        volumeMounts: [
          { name: 'config', mountPath: '/etc/config' },
          { name: 'backend-ca', mountPath: '/var/run/pgbouncer/tls/backend' },
          { name: 'serving', mountPath: '/var/run/pgbouncer/tls/serving/server/' },
          { name: 'user', mountPath: '/etc/user' },
          { name: 'one', mountPath: '/etc/one.conf', subPath: 'one.conf' },
        ],
      },
    ],
    volumes: [
      { name: 'config', secret: { secretName: 'pb-config' } },
      { name: 'backend-ca', secret: { secretName: 'pb-config', items: [{ key: 'backend-ca.crt', path: 'ca.crt' }] } },
      { name: 'serving', projected: { sources: [{ secret: { name: 'pb-staged', items: [{ key: 'server.crt', path: 'tls.crt' }] } }, { configMap: { name: 'x' } }] } },
      { name: 'user', secret: { secretName: 'someone-elses' } },
      { name: 'one', secret: { secretName: 'pb-config' } },
    ],
  },
};

const secrets = new Map<string, Record<string, string> | undefined>([
  ['pb-config', { 'pgbouncer.ini': b64('[pgbouncer]\n'), 'backend-ca.crt': b64('CA') }],
  ['pb-staged', { 'server.crt': b64('CERT'), 'server.key': b64('KEY') }],
  ['someone-elses', { x: b64('y') }],
]);

describe('pod files: a reload waits until the kubelet has written the Secrets into the pod', () => {
  it('expects each mounted key at its path (items honoured, projected too); not subPath mounts, not other Secrets', () => {
    assert.deepEqual(expectedSecretFiles(pod, 'pgbouncer', 'pb', secrets), [
      { path: '/etc/config/backend-ca.crt', sha256: sha('CA') },
      { path: '/etc/config/pgbouncer.ini', sha256: sha('[pgbouncer]\n') },
      { path: '/var/run/pgbouncer/tls/backend/ca.crt', sha256: sha('CA') },
      { path: '/var/run/pgbouncer/tls/serving/server/tls.crt', sha256: sha('CERT') },
    ]);
    // An optional Secret that does not exist mounts nothing.
    assert.equal(expectedSecretFiles(pod, 'pgbouncer', 'pb', new Map([['pb-config', undefined]])).length, 0);
  });

  it('reads sha256sum output: a different or missing file is stale', () => {
    const want = [
      { path: '/a', sha256: sha('1') },
      { path: '/b c', sha256: sha('2') },
      { path: '/d', sha256: sha('3') },
    ];
    const out = `${sha('1')}  /a\n${sha('x')}  /b c\n`;
    assert.deepEqual(staleFiles(want, out), ['/b c', '/d']);
    assert.deepEqual(staleFiles(want, `${sha('1')}  /a\n${sha('2')} */b c\n${sha('3')}  /d\n`), []);
    assert.match(filesMark(want), /^[0-9a-f]{16}$/);
    assert.notEqual(filesMark(want), filesMark(want.slice(1)));
  });

  it('compares inside the container; a container without sha256sum leaves the wire as the only proof', async () => {
    const kube = new FakeKube();
    await kube.create({ apiVersion: 'v1', kind: 'Pod', ...pod } as never);
    for (const [name, data] of secrets) await kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'demo' }, data } as never);
    const files = new Map<string, string>([['/etc/config/pgbouncer.ini', '[pgbouncer]\n'], ['/etc/config/backend-ca.crt', 'CA'], ['/var/run/pgbouncer/tls/backend/ca.crt', 'OLD CA'], ['/var/run/pgbouncer/tls/serving/server/tls.crt', 'CERT']]);
    kube.execHandler = (_p, cmd) => {
      if (cmd[0] !== 'sha256sum') return { exitCode: 127, stdout: '', stderr: 'not found' };
      return { exitCode: 0, stdout: cmd.slice(2).map((f) => `${sha(files.get(f) ?? '')}  ${f}`).join('\n') + '\n', stderr: '' };
    };
    assert.deepEqual((await checkPodFiles(kube, pod, 'pgbouncer', 'pb')).stale, ['/var/run/pgbouncer/tls/backend/ca.crt']);
    files.set('/var/run/pgbouncer/tls/backend/ca.crt', 'CA');
    assert.deepEqual((await checkPodFiles(kube, pod, 'pgbouncer', 'pb')).stale, []);
    kube.execHandler = () => ({ exitCode: 127, stdout: '', stderr: 'sha256sum: not found' });
    assert.deepEqual((await checkPodFiles(kube, pod, 'pgbouncer', 'pb')).stale, []);
  });
});
