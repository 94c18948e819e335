// The pods the operator makes, as a real kubelet and Pod Security `restricted`
// read them: the catalog version's user, hardened containers, no host paths,
// servers listening on every pod address, PGDATA 0700, a private passfile,
// commands from the image's PATH, and the manifest's podTemplate applied.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pgbouncer, pgpool, postgres } from '../../../src/kinds/index.ts';
import { buildPostgresStatefulSet } from '../../../src/provisioner/postgres/statefulset.ts';
import { buildPgBouncerStatefulSet } from '../../../src/provisioner/pgbouncer/statefulset.ts';
import { buildPgpoolStatefulSet, PGPOOL_DRAIN_SECONDS } from '../../../src/provisioner/pgpool/statefulset.ts';
import { applyPodTemplate, PodTemplateError, versionUser } from '../../../src/provisioner/specs/pod-template.ts';
import { renderPostgresFiles, standbyLinkMode } from '../../../src/provisioner/postgres/config.ts';
import { pgpoolConfigGeneration, renderPgpoolFiles } from '../../../src/provisioner/pgpool/config.ts';
import { DEFAULT_CATALOG, catalogImageRefs } from '../../../src/api/default-catalog.ts';
import { restrictedViolations } from '../../helpers/pod-security.ts';

type Obj = Record<string, unknown>;
interface Sts {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Obj & { containers: (Obj & { name: string })[]; initContainers?: (Obj & { name: string })[]; volumes?: Obj[] } } };
}

const db = { name: 'pg', namespace: 'demo', uid: 'u1' };
const pgUser = versionUser({ runAsUser: 999 }, 0);
const poolUser = versionUser({ runAsUser: 70 }, 0);

function stsOf(kind: 'Postgres' | 'PgBouncer' | 'Pgpool', podTemplate?: unknown): Sts {
  if (kind === 'Postgres') {
    return buildPostgresStatefulSet({ info: postgres.info, db, image: 'localhost/pgtls/postgres:18.3', user: pgUser, replicas: 3, authSecret: 'pg-auth', ephemeral: false, podTemplate }) as Sts;
  }
  if (kind === 'PgBouncer') return buildPgBouncerStatefulSet({ info: pgbouncer.info, db: { ...db, name: 'pb' }, image: 'localhost/pgtls/pgbouncer:1.24.1', user: poolUser, replicas: 1, port: 5432, podTemplate }) as Sts;
  return buildPgpoolStatefulSet({ info: pgpool.info, db: { ...db, name: 'pp' }, image: 'localhost/pgtls/pgpool:4.6.1', user: poolUser, replicas: 1, podTemplate }) as Sts;
}

const script = (c: Obj) => ((c.command as string[]) ?? []).join(' ');

describe('pod specs for a real kubelet', () => {
  for (const [kind, uid, main] of [['Postgres', 999, 'postgres'], ['PgBouncer', 70, 'pgbouncer'], ['Pgpool', 70, 'pgpool']] as const) {
    it(`${kind}: runs as the catalog user ${uid} with fsGroup, restricted-compliant, kubectl's default container`, () => {
      const sts = stsOf(kind);
      const pod = sts.spec.template;
      assert.deepEqual(pod.spec.securityContext, { runAsUser: uid, runAsGroup: uid, fsGroup: uid, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      assert.deepEqual(restrictedViolations(pod.spec as never), []);
      for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
        assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, c.name);
        // Binaries by bare name from the image's PATH: no host or image paths in commands.
        assert.doesNotMatch(script(c), /\/usr\/(lib|sbin|bin)|\/opt\/pgpool-II\/bin/, c.name);
      }
      assert.equal(pod.metadata.annotations['kubectl.kubernetes.io/default-container'], main);
      assert.ok(!(pod.spec.volumes ?? []).some((v) => 'hostPath' in v));
      // Listens on every address of its own network namespace; only a loopback pod IP (host network) narrows it.
      assert.match(script(pod.spec.containers[0]!), /case "\$POD_IP" in 127\.\*\) listen="\$POD_IP" ;; \*\) listen='\*' ;; esac/);
    });
  }

  it('Postgres: PGDATA 0700 at every start, the passfile copied 0600, standbys verify the primary (verify-full with TLS)', () => {
    const c = stsOf('Postgres').spec.template.spec.containers[0]!;
    assert.match(script(c), /chmod 0700 \/var\/pv\/data/);
    assert.match(script(c), /umask 077; cat \/etc\/config\/pgpass > \/var\/run\/postgresql\/pgpass/);
    assert.match(script(c), /-c listen_addresses="\$listen"/);
    const files = renderPostgresFiles(db, { sslMode: 'require', clientAuthMode: 'md5' }, 'pw');
    assert.match(files['standby.conf']!, /^primary_conninfo = '.*passfile=\/var\/run\/postgresql\/pgpass sslmode=verify-full sslrootcert=\/tls\/certs\/client\/ca\.crt'$/m);
    assert.equal(files.sslmode, 'verify-full\n');
    assert.match(files['primary.conf']!, /^listen_addresses = '\*'$/m);
    assert.equal(standbyLinkMode('prefer'), 'verify-full');
    assert.equal(standbyLinkMode('disable'), 'disable');
    assert.match(renderPostgresFiles(db, { sslMode: 'disable', clientAuthMode: 'md5' }, 'pw')['standby.conf']!, /sslmode=disable'$/m);

    // pg_basebackup (the init container) verifies the primary with the server certificate's CA.
    const init = stsOf('Postgres').spec.template.spec.initContainers![0]!;
    assert.match(script(init), /export PGSSLROOTCERT=\/tls\/certs\/server\/ca\.crt/);
  });

  it('Postgres with a client CA of its own: ssl_ca_file is the client certificate\'s CA, a standby verifies the primary with the server\'s', () => {
    const own = renderPostgresFiles(db, { sslMode: 'verify-full', clientAuthMode: 'cert', ownClientCa: true }, 'pw');
    assert.match(own['primary.conf']!, /^ssl_ca_file = '\/tls\/certs\/client\/ca\.crt'$/m);
    assert.match(own['standby.conf']!, /sslrootcert=\/tls\/certs\/server\/ca\.crt sslcert=\/tls\/certs\/client\/client\.crt/);
    // KubeDB's layout otherwise (the guide's ssl_ca_file).
    const kubedb = renderPostgresFiles(db, { sslMode: 'verify-full', clientAuthMode: 'cert' }, 'pw');
    assert.match(kubedb['primary.conf']!, /^ssl_ca_file = '\/tls\/certs\/server\/ca\.crt'$/m);
    assert.match(kubedb['standby.conf']!, /sslrootcert=\/tls\/certs\/client\/ca\.crt/);
  });

  it('Pgpool with 2+ replicas drains before SIGTERM (it has left its Service); one replica stops at once', () => {
    const main = (n: number) => (buildPgpoolStatefulSet({ info: pgpool.info, db: { ...db, name: 'pp' }, image: 'localhost/pgtls/pgpool:4.6.1', user: poolUser, replicas: n }) as Sts).spec.template.spec.containers.find((c) => c.name === 'pgpool')!;
    assert.equal(main(1).lifecycle, undefined);
    assert.deepEqual(main(2).lifecycle, { preStop: { sleep: { seconds: PGPOOL_DRAIN_SECONDS } } });
    assert.ok(PGPOOL_DRAIN_SECONDS < (stsOf('Pgpool').spec.template.spec.terminationGracePeriodSeconds as number), 'the drain fits in the grace period');
  });

  it('Pgpool: 4.4 and later get the renamed socket settings', () => {
    assert.equal(pgpoolConfigGeneration('4.3.5'), '4.3');
    assert.equal(pgpoolConfigGeneration('4.6.1'), '4.4+');
    assert.throws(() => pgpoolConfigGeneration('latest'), /expected major\.minor/);
    const files = (v: string) =>
      renderPgpoolFiles({ tls: { sslMode: 'disable', clientAuthMode: 'md5' }, backend: { name: 'pg', namespace: 'demo', clientAuthMode: 'md5', authSecret: 'pg-auth', host: 'pg.demo.svc', port: 5432, sslMode: 'disable', users: [{ name: 'postgres', password: 'x' }], superuser: 'postgres', caPem: '' }, pcp: { name: 'pcp', password: 'y' }, ownCaPem: '', serverVersion: v })['pgpool.conf']!;
    assert.match(files('4.6.1'), /^unix_socket_directories = /m);
    assert.match(files('4.3.5'), /^socket_dir = /m);
  });

  it('the catalog version names the user; a version without one falls back to the kind default', () => {
    assert.deepEqual(versionUser(undefined, 999), { runAsUser: 999, runAsGroup: 999 });
    assert.deepEqual(versionUser({ runAsUser: 70 }, 999), { runAsUser: 70, runAsGroup: 70 });
    assert.deepEqual(versionUser({ runAsUser: 1001, runAsGroup: 0 }, 999), { runAsUser: 1001, runAsGroup: 1001 });
    assert.deepEqual(versionUser({ runAsUser: 0 }, 70), { runAsUser: 70, runAsGroup: 70 });
  });

  it('the default catalog: our images, with their users', () => {
    assert.deepEqual(catalogImageRefs(), [
      'localhost/pgtls/postgres:15',
      'localhost/pgtls/postgres:17',
      'localhost/pgtls/postgres:18.3',
      'localhost/pgtls/pgbouncer:1.18.0',
      'localhost/pgtls/pgbouncer:1.24.1',
      'localhost/pgtls/pgpool:4.3.5',
      'localhost/pgtls/pgpool:4.6.1',
    ]);
    for (const v of DEFAULT_CATALOG) assert.equal((v.spec.securityContext as { runAsUser: number }).runAsUser, v.kind === 'PostgresVersion' ? 999 : 70, v.metadata!.name);
  });
});

describe('spec.podTemplate, applied as KubeDB does', () => {
  const template = {
    metadata: { labels: { team: 'db', 'app.kubernetes.io/instance': 'not-this' }, annotations: { 'prometheus.io/scrape': 'true' } },
    controller: { labels: { tier: 'data' }, annotations: { owner: 'ops' } },
    spec: {
      nodeSelector: { disk: 'ssd' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } },
      securityContext: { fsGroupChangePolicy: 'OnRootMismatch' },
      containers: [
        {
          name: 'postgres',
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
          env: [{ name: 'TZ', value: 'UTC' }],
          securityContext: { readOnlyRootFilesystem: true },
        },
        { name: 'exporter', image: 'example/exporter:1', ports: [{ containerPort: 9187 }] },
      ],
      volumes: [{ name: 'extra', emptyDir: {} }],
    },
  };

  it('pod fields, securityContext fields, container resources/env/securityContext, sidecars, labels and annotations', () => {
    const sts = stsOf('Postgres', template);
    const pod = sts.spec.template;
    assert.deepEqual(pod.spec.nodeSelector, { disk: 'ssd' });
    assert.equal((pod.spec.tolerations as Obj[]).length, 1);
    assert.ok(pod.spec.affinity);
    assert.deepEqual(pod.spec.securityContext, { runAsUser: 999, runAsGroup: 999, fsGroup: 999, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, fsGroupChangePolicy: 'OnRootMismatch' });
    const pg = pod.spec.containers.find((c) => c.name === 'postgres')!;
    assert.deepEqual(pg.resources, { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    assert.deepEqual((pg.env as { name: string }[]).at(-1), { name: 'TZ', value: 'UTC' });
    assert.ok((pg.env as { name: string }[]).some((e) => e.name === 'POD_IP'));
    assert.equal((pg.securityContext as Obj).readOnlyRootFilesystem, true);
    assert.equal((pg.securityContext as Obj).allowPrivilegeEscalation, false);
    assert.deepEqual(pod.spec.containers.map((c) => c.name), ['postgres', 'exporter']);
    assert.ok((pod.spec.volumes ?? []).some((v) => v.name === 'extra'));
    // The selector's labels win; the template's others are added.
    assert.equal(pod.metadata.labels['app.kubernetes.io/instance'], 'pg');
    assert.equal(pod.metadata.labels.team, 'db');
    assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(pod.metadata.annotations['kubectl.kubernetes.io/default-container'], 'postgres');
    assert.equal(sts.metadata.labels.tier, 'data');
    assert.equal(sts.metadata.annotations?.owner, 'ops');
    // The init container keeps the hardening; the template's postgres container does not reach it.
    const init = pod.spec.initContainers![0]!;
    assert.equal(init.resources, undefined);
    assert.equal((init.securityContext as Obj).allowPrivilegeEscalation, false);
  });

  it('the legacy v1alpha2 fields (spec.resources, spec.env) go to the server container', () => {
    const pod = stsOf('Pgpool', { spec: { resources: { limits: { cpu: '1' } }, env: [{ name: 'X', value: '1' }] } }).spec.template;
    const pp = pod.spec.containers[0]!;
    assert.deepEqual(pp.resources, { limits: { cpu: '1' } });
    assert.ok((pp.env as { name: string }[]).some((e) => e.name === 'X'));
  });

  it('a podTemplate that changes what the server needs is refused, naming the field', () => {
    assert.throws(() => stsOf('Postgres', { spec: { containers: [{ name: 'postgres', env: [{ name: 'PGDATA', value: '/x' }] }] } }), (e: unknown) =>
      e instanceof PodTemplateError && e.message === 'spec.podTemplate.spec.containers[0].env: Forbidden: PGDATA is set by the operator for the postgres container');
    assert.throws(() => stsOf('PgBouncer', { spec: { volumes: [{ name: 'config', emptyDir: {} }] } }), /spec\.podTemplate\.spec\.volumes: Forbidden: volume config is the operator's/);
    assert.throws(() => stsOf('Pgpool', { spec: { containers: [{ image: 'x' }] } }), /spec\.podTemplate\.spec\.containers\[0\]\.name: Required value/);
    assert.throws(() => stsOf('Pgpool', { spec: { nodeSelector: 'x', containers: 3 } }), /spec\.podTemplate\.spec\.containers: Invalid value: 3: must be a list/);
    assert.throws(() => stsOf('Pgpool', { metadata: { labels: { a: 1 } } }), /spec\.podTemplate\.metadata\.labels\.a: Invalid value: 1: must be a string/);
  });

  it('a podTemplate securityContext can loosen what it may (its fields win), and restricted then says no', () => {
    const a = applyPodTemplate({ podSpec: { containers: [{ name: 'x' }] }, mainContainer: 'x', user: pgUser, labels: {}, template: { spec: { containers: [{ name: 'x', securityContext: { allowPrivilegeEscalation: true } }] } } });
    assert.deepEqual(restrictedViolations(a.spec as never), ['x: allowPrivilegeEscalation != false']);
  });
});
