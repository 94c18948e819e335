// The kubelet's rules the node applies, as pure functions: users and groups,
// runAsNonRoot, capabilities and no_new_privs, command/env against the image
// config, paths inside an image root, volume ownership with fsGroup.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod, V1PodSecurityContext, V1Service } from '@kubernetes/client-node';
import { containerEnv } from '../../../src/local/node/env.ts';
import { parseGroup, parsePasswd, parseImageUser, resolveRunAs, runAsNonRootViolation, UserError } from '../../../src/local/node/users.ts';
import { DEFAULT_CAPABILITIES, processSecurity, setprivArgs } from '../../../src/local/node/security.ts';
import { ContainerStartError, planContainer } from '../../../src/local/node/container-plan.ts';
import { findExecutable, resolveInRoot } from '../../../src/local/node/root-paths.ts';
import { applyFsGroup, projectedOwnership, rootNeedsChange } from '../../../src/local/node/ownership.ts';
import { projectKeys, writeAtomic } from '../../../src/local/node/volumes.ts';
import { pullPolicy, ensureContainerImage, ImagePullError, type ImageService, type NodeImage } from '../../../src/local/node/image-service.ts';
import { agentFlagsFromEnv } from '../../../src/local/node/agent-flags.ts';
import { referencedObjects } from '../../../src/local/node/object-watches.ts';

const db = {
  passwd: parsePasswd('root:x:0:0:root:/root:/bin/bash\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/bash\n'),
  group: parseGroup('root:x:0:\npostgres:x:999:\nssl-cert:x:101:postgres\n'),
};

const pod = (sc: V1PodSecurityContext = {}): V1Pod => ({
  metadata: { name: 'p-0', namespace: 'ns', uid: 'u1' },
  spec: { containers: [{ name: 'c' }], securityContext: sc },
});

describe('who a container runs as', () => {
  it('takes the image user, resolved in the image, with its groups', () => {
    assert.deepEqual(parseImageUser('999:999'), { uid: 999, group: '999' });
    assert.deepEqual(parseImageUser('postgres'), { name: 'postgres' });
    assert.deepEqual(parseImageUser(''), { uid: 0 });
    assert.deepEqual(resolveRunAs(pod(), { name: 'c' }, 'postgres', db), { uid: 999, gid: 999, groups: [999, 101], home: '/var/lib/postgresql' });
    assert.deepEqual(resolveRunAs(pod(), { name: 'c' }, '999', db), { uid: 999, gid: 999, groups: [999, 101], home: '/var/lib/postgresql' });
    assert.deepEqual(resolveRunAs(pod(), { name: 'c' }, '70', db), { uid: 70, gid: 0, groups: [0], home: '/' }, 'an id missing from the image runs with gid 0');
    assert.throws(() => resolveRunAs(pod(), { name: 'c' }, 'nobody', db), /unable to find user nobody/);
  });

  it('lets the securityContext win, container over pod, and adds fsGroup and supplementalGroups', () => {
    const p = pod({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, supplementalGroups: [3000] });
    assert.deepEqual(resolveRunAs(p, { name: 'c' }, 'postgres', db), { uid: 1000, gid: 1000, groups: [1000, 2000, 3000], home: '/' });
    assert.deepEqual(resolveRunAs(p, { name: 'c', securityContext: { runAsUser: 999 } }, 'root', db).uid, 999);
  });

  it('refuses runAsNonRoot with the kubelet\'s messages', () => {
    const p = pod({ runAsNonRoot: true });
    const c: V1Container = { name: 'c' };
    assert.equal(runAsNonRootViolation(p, c, ''), 'container has runAsNonRoot and image will run as root (pod: "p-0_ns(u1)", container: c)');
    assert.equal(runAsNonRootViolation(p, c, '0:0'), 'container has runAsNonRoot and image will run as root (pod: "p-0_ns(u1)", container: c)');
    assert.equal(runAsNonRootViolation(p, c, 'postgres'), 'container has runAsNonRoot and image has non-numeric user (postgres), cannot verify user is non-root (pod: "p-0_ns(u1)", container: c)');
    assert.equal(runAsNonRootViolation(p, c, '999'), undefined);
    assert.equal(runAsNonRootViolation(pod({ runAsNonRoot: true, runAsUser: 0 }), c, '999'), 'container\'s runAsUser breaks non-root policy (pod: "p-0_ns(u1)", container: c)');
    assert.equal(runAsNonRootViolation(pod({ runAsNonRoot: true, runAsUser: 999 }), c, 'postgres'), undefined);
    assert.throws(() => resolveRunAs(p, c, 'postgres', db), UserError);
  });
});

describe('process security', () => {
  it('keeps the runtime default capabilities minus drop plus add, and no_new_privs', () => {
    assert.deepEqual(processSecurity({ name: 'c' }).capabilities, DEFAULT_CAPABILITIES);
    const strict = processSecurity({ name: 'c', securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } });
    assert.deepEqual(strict, { capabilities: ['NET_BIND_SERVICE'], noNewPrivs: true, readOnlyRoot: true });
    assert.deepEqual(processSecurity({ name: 'c', securityContext: { capabilities: { drop: ['CAP_KILL', 'net_raw'] } } }).capabilities?.includes('KILL'), false);
    assert.equal(processSecurity({ name: 'c', securityContext: { privileged: true } }).capabilities, undefined);
    assert.deepEqual(setprivArgs({ uid: 999, gid: 999, groups: [999, 2000], home: '/' }, strict), [
      '--reuid=999',
      '--regid=999',
      '--groups=999,2000',
      '--bounding-set=-all,+net_bind_service',
      '--inh-caps=-all',
      '--no-new-privs',
    ]);
  });
});

function imageRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'pgtls-root-'));
  mkdirSync(join(root, 'usr/lib/postgresql/15/bin'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/lib/postgresql/15/bin/postgres'), '#!/bin/sh\n');
  chmodSync(join(root, 'usr/lib/postgresql/15/bin/postgres'), 0o755);
  writeFileSync(join(root, 'usr/bin/notexec'), '');
  symlinkSync('usr/bin', join(root, 'bin'));
  // An absolute link resolves inside the image, never on the host.
  symlinkSync('/usr/lib/postgresql/15/bin/postgres', join(root, 'usr/bin/pg'));
  symlinkSync('/etc/passwd', join(root, 'usr/bin/escape'));
  return root;
}

describe('paths inside an image root', () => {
  it('follows symlinks inside the root and finds executables on PATH', () => {
    const root = imageRoot();
    assert.equal(resolveInRoot(root, '/bin/pg'), join(root, 'usr/lib/postgresql/15/bin/postgres'));
    assert.equal(resolveInRoot(root, '/usr/bin/escape'), undefined, '/etc/passwd is not in this root');
    assert.equal(findExecutable(root, 'postgres', '/usr/lib/postgresql/15/bin:/usr/bin'), '/usr/lib/postgresql/15/bin/postgres');
    assert.equal(findExecutable(root, 'pg', '/bin'), '/bin/pg');
    assert.equal(findExecutable(root, 'notexec', '/usr/bin'), undefined);
    assert.equal(findExecutable(root, 'postgres', '/usr/bin'), undefined);
  });
});

describe('container plan against the image config', () => {
  const root = imageRoot();
  const image: NodeImage = {
    ref: 'pg:15',
    rootfs: root,
    digest: 'sha256:x',
    config: { User: '999:999', Env: ['PATH=/usr/lib/postgresql/15/bin:/usr/bin', 'PGDATA=/var/lib/postgresql/data', 'LANG=C.UTF-8'], WorkingDir: '/var/lib/postgresql', Entrypoint: ['docker-entrypoint.sh'], Cmd: ['postgres'] },
  };
  const plan = (c: Partial<V1Container>, vars: Record<string, string> = {}) =>
    planContainer({ pod: pod(), container: { name: 'c', ...c }, image, vars, users: db, hostname: 'p-0', root });

  it('command overrides Entrypoint (and Cmd), args override Cmd; env and PATH come from the image', () => {
    const p = plan({ command: ['postgres'], args: ['-D', '$(PGDATA_DIR)'] }, { PGDATA_DIR: '/data', LANG: 'en_US.UTF-8' });
    assert.deepEqual(p.argv, ['postgres', '-D', '/data']);
    assert.equal(p.env.PATH, '/usr/lib/postgresql/15/bin:/usr/bin');
    assert.equal(p.env.PGDATA, '/var/lib/postgresql/data');
    assert.equal(p.env.LANG, 'en_US.UTF-8', 'the container env wins');
    assert.equal(p.env.HOSTNAME, 'p-0');
    assert.equal(p.env.HOME, '/var/lib/postgresql');
    assert.equal(p.workingDir, '/var/lib/postgresql');
    assert.equal(p.runAs.uid, 999);
    assert.deepEqual(plan({ workingDir: '/tmp', command: ['postgres'] }).workingDir, '/tmp');
    assert.throws(() => plan({}), (e: unknown) => e instanceof ContainerStartError && e.reason === 'StartError' && /"docker-entrypoint.sh": executable file not found in \$PATH/.test(e.message));
    assert.throws(() => plan({ command: ['pgpool'] }), (e: unknown) => e instanceof ContainerStartError && e.reason === 'StartError');
    assert.deepEqual(plan({ command: ['/opt/on-a-volume.sh'] }).argv, ['/opt/on-a-volume.sh'], 'paths may live on volumes: not checked');
    assert.throws(
      () => planContainer({ pod: pod({ runAsNonRoot: true }), container: { name: 'c', command: ['postgres'] }, image: { ...image, config: { ...image.config, User: '' } }, vars: {}, users: db, hostname: 'p', root }),
      (e: unknown) => e instanceof ContainerStartError && e.reason === 'CreateContainerConfigError' && /image will run as root/.test(e.message),
    );
  });
});

describe('volume ownership', () => {
  it('strict: projected files stay root-owned with their mode; fsGroup adds the group and group read', () => {
    const noGroup = projectedOwnership(true, pod(), { uid: 999, gid: 999 }, true)!;
    const dir = join(mkdtempSync(join(tmpdir(), 'pgtls-own-')), 'v');
    writeAtomic(dir, projectKeys({ 'tls.key': Buffer.from('K') }, undefined, 0o600, 's'), noGroup);
    let st = statSync(join(dir, 'tls.key'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o600]);
    const withGroup = projectedOwnership(true, pod({ fsGroup: 2000 }), undefined, true)!;
    const dir2 = join(mkdtempSync(join(tmpdir(), 'pgtls-own-')), 'v');
    writeAtomic(dir2, projectKeys({ 'tls.key': Buffer.from('K') }, undefined, 0o600, 's'), withGroup);
    st = statSync(join(dir2, 'tls.key'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 2000, 0o640]);
    assert.equal(statSync(join(dir2, readlinkSync(join(dir2, '..data')))).mode & 0o7777, 0o2755);
    assert.equal(statSync(dir2).mode & 0o7777, 0o3777);
    assert.equal(writeAtomic(dir2, projectKeys({ 'tls.key': Buffer.from('K') }, undefined, 0o600, 's'), withGroup), false, 'unchanged');
  });

  it('lenient: files go to the pod user', () => {
    assert.deepEqual(projectedOwnership(false, pod({ fsGroup: 2000 }), { uid: 999, gid: 999 }, true), { uid: 999, gid: 2000, fileMask: 0, dirMask: 0 });
    assert.equal(projectedOwnership(false, pod(), { uid: 999, gid: 999 }, false), undefined, 'no chown without root');
  });

  it('applies fsGroup recursively (Always) or only on a root mismatch (OnRootMismatch)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgtls-fsg-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    writeFileSync(join(dir, 'data', 'f'), 'x', { mode: 0o600 });
    symlinkSync('data/f', join(dir, 'link'));
    assert.equal(rootNeedsChange(dir, 2000), true);
    assert.equal(applyFsGroup(dir, 2000, 'Always'), true);
    assert.equal(statSync(dir).mode & 0o7777, 0o2775);
    assert.equal(statSync(join(dir, 'data')).mode & 0o7777, 0o2770, 'PGDATA-like directories become group-writable, as on a kubelet');
    assert.deepEqual([statSync(join(dir, 'data', 'f')).gid, statSync(join(dir, 'data', 'f')).mode & 0o7777], [2000, 0o660]);
    assert.equal(lstatSync(join(dir, 'link')).gid, 2000);
    chmodSync(join(dir, 'data'), 0o700);
    assert.equal(applyFsGroup(dir, 2000, 'OnRootMismatch'), false, 'the root is already right: nothing below is touched');
    assert.equal(statSync(join(dir, 'data')).mode & 0o7777, 0o700);
    assert.equal(applyFsGroup(dir, 2000, 'Always'), true);
    assert.equal(statSync(join(dir, 'data')).mode & 0o7777, 0o2770);
  });
});

describe('service links', () => {
  it('always gives the kubernetes Service of the default namespace, the pod namespace\'s Services only with links on', () => {
    const svc = (name: string, namespace: string, clusterIP: string, port: number): V1Service => ({ metadata: { name, namespace }, spec: { clusterIP, ports: [{ name: 'https', port }] } });
    const services = [svc('kubernetes', 'default', '10.96.0.1', 443), svc('db', 'ns', '10.96.0.7', 5432), svc('other', 'elsewhere', '10.96.0.8', 1)];
    const src = { secret: () => undefined, configMap: () => undefined, podIP: '10.244.0.2', hostIP: '10.244.0.1', nodeName: 'n', serviceHost: (x: V1Service) => x.spec?.clusterIP, services };
    const on = containerEnv(pod(), { name: 'c' }, src);
    assert.equal(on.KUBERNETES_SERVICE_HOST, '10.96.0.1');
    assert.equal(on.KUBERNETES_SERVICE_PORT, '443');
    assert.equal(on.DB_SERVICE_HOST, '10.96.0.7');
    assert.equal(on.OTHER_SERVICE_HOST, undefined);
    const off = containerEnv({ ...pod(), spec: { ...pod().spec!, enableServiceLinks: false } }, { name: 'c' }, src);
    assert.equal(off.KUBERNETES_SERVICE_HOST, '10.96.0.1');
    assert.equal(off.DB_SERVICE_HOST, undefined);
  });
});

describe('images, flags and references', () => {
  it('decides pull policy like the kubelet', async () => {
    assert.equal(pullPolicy({ name: 'c', image: 'x' }), 'Always');
    assert.equal(pullPolicy({ name: 'c', image: 'x:latest' }), 'Always');
    assert.equal(pullPolicy({ name: 'c', image: 'localhost:5000/x:15' }), 'IfNotPresent');
    assert.equal(pullPolicy({ name: 'c', image: 'localhost:5000/x' }), 'Always');
    const img: NodeImage = { ref: 'x:1', digest: 'd', config: {} };
    const service = (present: boolean, known: boolean): ImageService => ({
      present: async () => (present ? img : undefined),
      pull: async () => {
        if (!known) throw new ImagePullError('image "x:1" is not known. Known images: y:2');
        return img;
      },
    });
    assert.deepEqual(await ensureContainerImage(service(false, true), { name: 'c', image: 'x:1', imagePullPolicy: 'Never' }), {
      ok: false,
      reason: 'ErrImageNeverPull',
      message: 'Container image "x:1" is not present with pull policy of Never',
    });
    assert.deepEqual(await ensureContainerImage(service(true, true), { name: 'c', image: 'x:1', imagePullPolicy: 'Never' }), { ok: true, image: img });
    assert.deepEqual(await ensureContainerImage(service(false, false), { name: 'c', image: 'x:1' }), { ok: false, reason: 'ErrImagePull', message: 'image "x:1" is not known. Known images: y:2' });
  });

  it('maps the environment of `pgtls up` to agent flags', () => {
    assert.deepEqual(agentFlagsFromEnv({}), []);
    assert.deepEqual(agentFlagsFromEnv({ PGTLS_NODE_STRICT: '1', PGTLS_NODE_POD_NETWORK: 'netns', PGTLS_NODE_SECRET_SYNC_DELAY: '60' }), ['--strict', '--pod-network-mode=netns', '--secret-sync-delay=60']);
    assert.throws(() => agentFlagsFromEnv({ PGTLS_NODE_POD_NETWORK: 'bridge' }), /PGTLS_NODE_POD_NETWORK: must be auto, netns or loopback/);
    assert.throws(() => agentFlagsFromEnv({ PGTLS_NODE_SECRET_SYNC_DELAY: 'soon' }), /PGTLS_NODE_SECRET_SYNC_DELAY/);
  });

  it('lists every Secret and ConfigMap a pod references', () => {
    const p: V1Pod = {
      metadata: { namespace: 'ns' },
      spec: {
        volumes: [{ name: 'a', secret: { secretName: 's1' } }, { name: 'b', projected: { sources: [{ configMap: { name: 'c1' } }, { secret: { name: 's2' } }] } }],
        containers: [{ name: 'c', env: [{ name: 'E', valueFrom: { secretKeyRef: { name: 's3', key: 'k' } } }], envFrom: [{ configMapRef: { name: 'c2' } }] }],
      },
    };
    assert.deepEqual([...referencedObjects(p)].sort(), ['configmaps/ns/c1', 'configmaps/ns/c2', 'secrets/ns/s1', 'secrets/ns/s2', 'secrets/ns/s3']);
  });
});
