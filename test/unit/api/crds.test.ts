// The generated CRDs: up to date on disk, structural, and carrying the names,
// columns and enums kubedb-api.md §1 lists.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../src/util/repo.ts';
import { buildCrds } from '../../../src/api/crds.ts';
import { CRD_DIR, renderCrdFiles } from '../../../src/api/render.ts';

type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; enum?: string[]; 'x-kubernetes-preserve-unknown-fields'?: boolean; additionalProperties?: Schema };
type Version = { name: string; additionalPrinterColumns: { name: string; jsonPath: string }[]; schema: { openAPIV3Schema: Schema }; subresources?: object };
type Spec = { names: { shortNames: string[]; categories: string[]; kind: string }; scope: string; versions: Version[] };
const crd = (name: string) => {
  const c = buildCrds().find((x) => x.metadata.name === name);
  assert.ok(c, name);
  return c.spec as unknown as Spec;
};
const at = (s: Schema, path: string): Schema => path.split('.').reduce((acc, k) => (k === '[]' ? acc.items! : acc.properties![k]!), s);

describe('generated CRDs', () => {
  it('deploy/crds is up to date with src/api (run: node --import tsx scripts/gen-crds.ts)', () => {
    const dir = join(repoRoot(), CRD_DIR);
    const expected = renderCrdFiles();
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort(), [...expected.keys()].sort());
    for (const [name, text] of expected) assert.equal(readFileSync(join(dir, name), 'utf8'), text, `${name} is stale`);
  });

  it('every schema node is structural: typed, no anyOf/oneOf/patternProperties', () => {
    const walk = (s: Schema, path: string) => {
      assert.ok(s.type, `${path} has no type`);
      for (const bad of ['anyOf', 'oneOf', 'allOf', 'patternProperties', 'const', '$id']) assert.ok(!(bad in s), `${path} has ${bad}`);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
      if (s.additionalProperties) walk(s.additionalProperties, `${path}{}`);
    };
    for (const c of buildCrds()) for (const v of (c.spec as unknown as Spec).versions) walk(v.schema.openAPIV3Schema, c.metadata.name);
  });

  it('has the short names, categories, printer columns and status subresource of KubeDB', () => {
    // KubeDB's CRDs (kubedb/apimachinery crds/, the release of the guides, v2025.7.30): name, jsonPath, type.
    const V = ['Version', '.spec.version', 'string'];
    const S = ['Status', '.status.phase', 'string'];
    const A = ['Age', '.metadata.creationTimestamp', 'date'];
    const T = ['Type', '.spec.type', 'string'];
    const D = ['Deprecated', '.spec.deprecated', 'boolean'];
    const cases: [string, string, string[][]][] = [
      ['postgreses.kubedb.com', 'pg', [V, S, A]],
      ['pgbouncers.kubedb.com', 'pb', [V, S, A]],
      ['pgpools.kubedb.com', 'pp', [['Type', '.apiVersion', 'string'], V, S, A]],
      ['postgresopsrequests.ops.kubedb.com', 'pgops', [T, S, A]],
      ['pgbounceropsrequests.ops.kubedb.com', 'pbops', [T, S, A]],
      ['pgpoolopsrequests.ops.kubedb.com', 'ppops', [T, S, A]],
      ['postgresversions.catalog.kubedb.com', 'pgversion', [V, ['Distribution', '.spec.distribution', 'string'], ['DB_IMAGE', '.spec.db.image', 'string'], D, A]],
      ['pgbouncerversions.catalog.kubedb.com', 'pbversion', [V, ['PGBOUNCER_IMAGE', '.spec.pgBouncer.image', 'string'], D, A]],
      ['pgpoolversions.catalog.kubedb.com', 'ppversion', [V, ['PGPOOL_IMAGE', '.spec.pgpool.image', 'string'], D, A]],
    ];
    for (const [name, short, cols] of cases) {
      const s = crd(name);
      assert.deepEqual(s.names.shortNames, [short]);
      assert.deepEqual(s.versions[0]!.additionalPrinterColumns.map((c) => [c.name, c.jsonPath, (c as { type?: string }).type]), cols, name);
      if (!name.includes('catalog')) assert.ok(s.versions[0]!.subresources, `${name} status subresource`);
    }
    assert.deepEqual(crd('postgreses.kubedb.com').names.categories, ['datastore', 'kubedb', 'appscode', 'all']);
    assert.deepEqual(crd('postgresopsrequests.ops.kubedb.com').names.categories, ['ops', 'kubedb', 'appscode']);
    assert.equal(crd('postgresversions.catalog.kubedb.com').scope, 'Cluster');
    assert.equal(crd('pgpools.kubedb.com').versions[0]!.name, 'v1alpha2');
    assert.equal(crd('postgreses.kubedb.com').versions[0]!.name, 'v1');
  });

  it('enforces the enums in the schema', () => {
    const pg = crd('postgreses.kubedb.com').versions[0]!.schema.openAPIV3Schema;
    assert.deepEqual(at(pg, 'spec.sslMode').enum, ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);
    assert.deepEqual(at(pg, 'spec.clientAuthMode').enum, ['md5', 'scram', 'cert']);
    assert.deepEqual(at(pg, 'spec.deletionPolicy').enum, ['Halt', 'Delete', 'WipeOut', 'DoNotTerminate']);
    assert.deepEqual(at(pg, 'spec.storageType').enum, ['Durable', 'Ephemeral']);
    assert.deepEqual(at(pg, 'spec.tls.certificates.[].privateKey.encoding').enum, ['PKCS1', 'PKCS8']);
    assert.equal(at(pg, 'spec.podTemplate')['x-kubernetes-preserve-unknown-fields'], true);
    const pbops = crd('pgbounceropsrequests.ops.kubedb.com').versions[0]!.schema.openAPIV3Schema;
    assert.deepEqual(at(pbops, 'spec.tls.clientAuthMode').enum, ['md5', 'scram-sha-256']);
    assert.deepEqual(at(pbops, 'spec.type').enum, ['HorizontalScaling', 'VerticalScaling', 'UpdateVersion', 'Reconfigure', 'RotateAuth', 'Restart', 'ReconfigureTLS']);
    assert.deepEqual(at(pbops, 'status.phase').enum, ['Pending', 'Progressing', 'Successful', 'WaitingForApproval', 'Failed', 'Approved', 'Denied', 'Skipped']);
  });
});
