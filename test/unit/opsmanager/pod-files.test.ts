import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { k8s } from '../../../src/kube/client.ts';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedSecretFiles, filesMark, reloadWhenFilesCurrent, staleFromCheck } from '../../../src/opsmanager/pod-files.ts';
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
    // No digest of a key or a password file: the list travels in the exec's URL.
    const withSecrets = new Map(secrets).set('pb-config', { ...secrets.get('pb-config'), 'userlist.txt': b64('"u" "p"'), 'server.key': b64('KEY') });
    assert.deepEqual(expectedSecretFiles(pod, 'pgbouncer', 'pb', withSecrets).map((f) => f.path), ['/etc/config/backend-ca.crt', '/etc/config/pgbouncer.ini', '/var/run/pgbouncer/tls/backend/ca.crt', '/var/run/pgbouncer/tls/serving/server/tls.crt']);
    // An optional Secret that does not exist mounts nothing.
    assert.equal(expectedSecretFiles(pod, 'pgbouncer', 'pb', new Map([['pb-config', undefined]])).length, 0);
  });

  it('reads the check: a FAILED or unreported file is stale; output with no verdict at all cannot tell', () => {
    const want = [
      { path: '/a', sha256: sha('1') },
      { path: '/b c', sha256: sha('2') },
      { path: '/d', sha256: sha('3') },
    ];
    assert.deepEqual(staleFromCheck(want, '/a: OK\n/b c: FAILED\npgtls: stale files\n'), ['/b c', '/d']);
    assert.deepEqual(staleFromCheck(want, '/a: OK\n/b c: OK\n/d: FAILED open or read\n'), ['/d']);
    assert.equal(staleFromCheck(want, "sha256sum: unrecognized option '-c'\npgtls: stale files\n"), undefined);
    assert.match(filesMark(want), /^[0-9a-f]{16}$/);
    assert.notEqual(filesMark(want), filesMark(want.slice(1)));
  });

  it('checks and reloads in one exec, run here by the real sh and sha256sum: stale files are named and nothing reloads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgtls-pod-files-'));
    try {
      const p: k8s.V1Pod = {
        ...pod,
        spec: {
          containers: [{ name: 'pgbouncer', volumeMounts: [{ name: 'config', mountPath: `${dir}/config` }, { name: 'backend-ca', mountPath: `${dir}/backend` }] }],
          volumes: [
            { name: 'config', secret: { secretName: 'pb-config' } },
            { name: 'backend-ca', secret: { secretName: 'pb-config', items: [{ key: 'backend-ca.crt', path: 'ca.crt' }] } },
          ],
        },
      };
      const kube = new FakeKube();
      await kube.create({ apiVersion: 'v1', kind: 'Pod', ...p } as never);
      // A password file in the same Secret (never written here): its digest must not travel in the exec.
      const userlist = '"postgres" "hunter2"\n';
      const withUserlist = new Map(secrets).set('pb-config', { ...secrets.get('pb-config'), 'userlist.txt': b64(userlist) });
      for (const [name, data] of withUserlist) await kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'demo' }, data } as never);
      mkdirSync(`${dir}/config`);
      mkdirSync(`${dir}/backend`);
      writeFileSync(`${dir}/config/pgbouncer.ini`, '[pgbouncer]\n');
      writeFileSync(`${dir}/config/backend-ca.crt`, 'CA');
      writeFileSync(`${dir}/backend/ca.crt`, 'OLD CA');
      const reload = ['/bin/sh', '-c', `echo reloaded >> ${dir}/reloads`];
      const execs: string[][] = [];
      let path = process.env.PATH!;
      kube.execHandler = (_p, cmd) => {
        execs.push(cmd);
        const r = spawnSync(cmd[0] === 'sh' ? '/bin/sh' : cmd[0]!, cmd.slice(1), { encoding: 'utf8', env: { PATH: path } });
        return { exitCode: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
      };
      const reloads = () => (existsSync(`${dir}/reloads`) ? readFileSync(`${dir}/reloads`, 'utf8').split('\n').filter(Boolean).length : 0);

      const first = await reloadWhenFilesCurrent(kube, p, 'pgbouncer', 'pb', reload, 5000);
      assert.equal(first.reloaded, false);
      assert.deepEqual(!first.reloaded && first.stale, [`${dir}/backend/ca.crt`]);
      assert.equal(reloads(), 0, 'no reload while a file lags');
      assert.equal(execs.length, 1);

      writeFileSync(`${dir}/backend/ca.crt`, 'CA');
      const second = await reloadWhenFilesCurrent(kube, p, 'pgbouncer', 'pb', reload, 5000);
      assert.ok(second.reloaded && second.result.exitCode === 0, JSON.stringify(second));
      assert.equal(reloads(), 1);
      assert.equal(execs.length, 2, 'the check and the reload were one exec');
      assert.ok(!execs.flat().join(' ').includes(sha(userlist)), 'no digest of a password file in the exec');
      assert.ok(execs.flat().join(' ').includes(sha('CA')), 'the trust bundle is checked');

      // A container without sha256sum reloads at once: the wire stays the only proof.
      writeFileSync(`${dir}/backend/ca.crt`, 'OLD CA');
      path = dir;
      const third = await reloadWhenFilesCurrent(kube, p, 'pgbouncer', 'pb', reload, 5000);
      assert.ok(third.reloaded && third.result.exitCode === 0, JSON.stringify(third));
      assert.equal(reloads(), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
