// Issue 11 item 1: a pooler may use a Postgres in another namespace only when
// the requesting user may read it and its credentials (SubjectAccessReviews,
// here answered from a table) and the Postgres opts in by annotation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { admissionKindFor } from '../../../src/webhook/kinds.ts';
import { validate, type AdmissionRequest } from '../../../src/webhook/review.ts';
import type { AccessCheck, Database, Lookups, UserInfo } from '../../../src/webhook/facts.ts';
import { ALLOWED_POOLER_NAMESPACES } from '../../../src/api/shared/reference-grant.ts';
import { fixture, PB_VERSIONS, PG_VERSIONS, PP_VERSIONS } from './helpers.ts';

const DEV: UserInfo = { username: 'system:serviceaccount:team-a:dev', groups: ['system:serviceaccounts', 'system:authenticated'] };

/** Lookups with one Postgres team-b/prod and the rights `grants` lists as "verb resource ns/name". */
function world(o: { grants?: string[]; annotation?: string; exists?: boolean } = {}) {
  const asked: string[] = [];
  const target = {
    apiVersion: 'kubedb.com/v1',
    kind: 'Postgres',
    metadata: { name: 'prod', namespace: 'team-b', annotations: o.annotation === undefined ? undefined : { [ALLOWED_POOLER_NAMESPACES]: o.annotation } },
    spec: { version: '15', authSecret: { name: 'prod-auth' } },
  } as unknown as Database;
  const lookups: Lookups = {
    listVersions: async (kind) => (kind === 'PgBouncer' ? PB_VERSIONS : kind === 'Pgpool' ? PP_VERSIONS : PG_VERSIONS),
    getDatabase: async (_kind, ns, name) => (o.exists !== false && ns === 'team-b' && name === 'prod' ? target : undefined),
    getIssuer: async () => undefined,
    reviewAccess: async (user: UserInfo, c: AccessCheck) => {
      const q = `${c.verb} ${c.resource} ${c.namespace}/${c.name ?? '*'}`;
      asked.push(q);
      return user.username === DEV.username && (o.grants ?? []).includes(q);
    },
  };
  return { lookups, asked };
}

const READ_PG = 'get postgreses team-b/prod';
const READ_SECRET = 'get secrets team-b/prod-auth';

function pgbouncer(ns = 'team-a', refNs = 'team-b') {
  const pb = fixture<{ metadata: { namespace: string }; spec: { database: { databaseRef: { namespace: string; name: string } } } }>('pgbouncer-pb-catalog.yaml');
  pb.metadata.namespace = ns;
  pb.spec.database.databaseRef = { namespace: refNs, name: 'prod' };
  return pb;
}

function pgpool(refNs?: string) {
  const pp = fixture<{ metadata: { namespace: string }; spec: { postgresRef: { namespace?: string; name: string }; tls?: unknown } }>('pgpool-pgpool-catalog.yaml');
  pp.metadata.namespace = 'team-a';
  pp.spec.postgresRef = refNs === undefined ? { name: 'prod' } : { namespace: refNs, name: 'prod' };
  return pp;
}

async function admit(plural: string, object: unknown, lookups: Lookups, old?: unknown): Promise<string | undefined> {
  const k = admissionKindFor(plural)!;
  const req: AdmissionRequest = {
    uid: 'u', kind: { group: k.info.group, version: k.info.version, kind: k.info.kind }, operation: old ? 'UPDATE' : 'CREATE',
    name: 'pb', namespace: 'team-a', object, oldObject: old, userInfo: DEV,
  };
  const r = await validate(k, req, lookups);
  return r.allowed ? undefined : r.status?.message;
}

describe('cross-namespace pooler references (admission)', () => {
  it('refuses a PgBouncer whose user may not read the Postgres, without saying whether it exists', async () => {
    for (const exists of [true, false]) {
      const w = world({ exists });
      assert.equal(await admit('pgbouncers', pgbouncer(), w.lookups),
        'PgBouncer.kubedb.com "pb" is invalid: spec.database.databaseRef.namespace: Forbidden: user "system:serviceaccount:team-a:dev" may not get postgreses.kubedb.com "prod" in namespace "team-b"');
    }
  });

  it('with read access to the Postgres: not found is said as such', async () => {
    const w = world({ grants: [READ_PG], exists: false });
    assert.equal(await admit('pgbouncers', pgbouncer(), w.lookups),
      'PgBouncer.kubedb.com "pb" is invalid: spec.database.databaseRef: Not found: "team-b/prod": no Postgres of that name in namespace "team-b"');
  });

  it('refuses a user who may read the Postgres but not its auth Secret', async () => {
    const w = world({ grants: [READ_PG], annotation: 'team-a' });
    assert.equal(await admit('pgbouncers', pgbouncer(), w.lookups),
      'PgBouncer.kubedb.com "pb" is invalid: spec.database.databaseRef.namespace: Forbidden: user "system:serviceaccount:team-a:dev" may not get secret "prod-auth" in namespace "team-b"; a pooler copies its backend\'s credentials, so its creator must be able to read them');
  });

  it('refuses when the Postgres does not opt in, even for a user with every right', async () => {
    for (const annotation of [undefined, '', 'team-c', 'team-aa, team']) {
      const w = world({ grants: [READ_PG, READ_SECRET], annotation });
      assert.equal(await admit('pgbouncers', pgbouncer(), w.lookups),
        'PgBouncer.kubedb.com "pb" is invalid: spec.database.databaseRef.namespace: Forbidden: Postgres team-b/prod does not accept poolers from namespace "team-a": its owner opts in with the annotation pgtls.dev/allowed-pooler-namespaces: "team-a" on it',
        `annotation ${String(annotation)}`);
    }
  });

  it('accepts with the rights and the opt-in (a list or *)', async () => {
    for (const annotation of ['team-a', 'team-c, team-a', '*']) {
      const w = world({ grants: [READ_PG, READ_SECRET], annotation });
      assert.equal(await admit('pgbouncers', pgbouncer(), w.lookups), undefined, annotation);
    }
  });

  it('a same-namespace reference asks nothing', async () => {
    const w = world();
    const pb = pgbouncer('team-b', 'team-b');
    assert.equal(await admit('pgbouncers', pb, w.lookups), undefined);
    assert.deepEqual(w.asked, []);
  });

  it('on update only a changed reference is checked again', async () => {
    const w = world();
    const before = pgbouncer('team-a', 'team-b');
    const after = structuredClone(before) as typeof before & { spec: { replicas?: number } };
    after.spec.replicas = 2;
    assert.equal(await admit('pgbouncers', after, w.lookups, before), undefined, 'an unrelated edit');
    const moved = pgbouncer('team-a', 'team-b');
    const from = pgbouncer('team-a', 'team-a');
    assert.match((await admit('pgbouncers', moved, w.lookups, from)) ?? '', /Forbidden: user .* may not get postgreses/);
  });

  it('Pgpool: the same rules on spec.postgresRef; an omitted namespace is its own', async () => {
    const w = world({ grants: [READ_PG, READ_SECRET] });
    assert.equal(await admit('pgpools', pgpool('team-b'), w.lookups),
      'Pgpool.kubedb.com "pb" is invalid: spec.postgresRef.namespace: Forbidden: Postgres team-b/prod does not accept poolers from namespace "team-a": its owner opts in with the annotation pgtls.dev/allowed-pooler-namespaces: "team-a" on it');
    const none = world();
    assert.match((await admit('pgpools', pgpool('team-b'), none.lookups)) ?? '', /spec\.postgresRef\.namespace: Forbidden: user "system:serviceaccount:team-a:dev" may not get postgreses/);
    // Its own namespace: the backend check of KubeDB (here: not found in team-a) and no access review.
    const own = world();
    assert.match((await admit('pgpools', pgpool(), own.lookups)) ?? '', /spec\.postgresRef: Not found: "team-a\/prod"/);
    assert.deepEqual(own.asked, []);
    const ok = world({ grants: [READ_PG, READ_SECRET], annotation: 'team-a' });
    assert.equal(await admit('pgpools', pgpool('team-b'), ok.lookups), undefined);
  });
});
