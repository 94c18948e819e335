// The operator's roles against the table in docs/security.md: every rule is
// documented (with why), every documented rule exists, no wildcard anywhere,
// and the least-privilege promises of the threat model hold.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildCrds } from '../../../src/api/crds.ts';
import { DEFAULT_CATALOG } from '../../../src/api/default-catalog.ts';
import { deployRbac, operatorClusterRules, operatorNamespaceRules, type PolicyRule } from '../../../src/operator/rbac.ts';
import { repoRoot } from '../../../src/util/repo.ts';

type Scope = 'ClusterRole' | 'Role';
interface Row {
  scope: Scope;
  rule: PolicyRule;
  why: string;
}

/** Placeholders the table may use for name lists generated from the API (they change when a kind or version is added). */
const PLACEHOLDERS: Record<string, () => string[]> = {
  "pgtls's CRDs": () => buildCrds().map((c) => c.metadata.name),
  "the default catalog's entries": () => [...new Set(DEFAULT_CATALOG.map((o) => o.metadata?.name ?? ''))],
};

const list = (cell: string) =>
  cell
    .split(',')
    .map((s) => s.replaceAll('`', '').trim())
    .filter((s) => s !== '' && s !== '—');

function names(cell: string): string[] | undefined {
  const c = cell.replaceAll('`', '').trim();
  if (c === '—' || c === '') return undefined;
  const gen = PLACEHOLDERS[c];
  return gen ? gen() : list(c);
}

function documentedRules(markdown: string): Row[] {
  const b = markdown.indexOf('<!-- rbac:begin -->');
  const e = markdown.indexOf('<!-- rbac:end -->');
  assert.ok(b >= 0 && e > b, 'docs/security.md has the <!-- rbac:begin --> … <!-- rbac:end --> table');
  const lines = markdown.slice(b, e).split('\n').filter((l) => l.startsWith('|'));
  return lines.slice(2).map((l) => {
    const cells = l.split('|').slice(1, -1).map((c) => c.trim());
    assert.equal(cells.length, 6, `six columns in: ${l}`);
    const [scope, group, resources, verbs, resNames, why] = cells as [string, string, string, string, string, string];
    assert.ok(scope === 'ClusterRole' || scope === 'Role', `scope ClusterRole or Role in: ${l}`);
    const g = group.replaceAll('`', '').trim();
    const rule: PolicyRule = { apiGroups: [g === 'core' ? '' : g], resources: list(resources), verbs: list(verbs) };
    const n = names(resNames);
    if (n) rule.resourceNames = n;
    return { scope: scope as Scope, rule, why };
  });
}

/** One comparable line per rule; lists sorted, one rule per API group. */
function canonical(scope: Scope, r: PolicyRule): string[] {
  const s = (xs: string[] | undefined) => [...(xs ?? [])].sort().join(',');
  return r.apiGroups.map((g) => `${scope} ${g || 'core'} [${s(r.resources)}] [${s(r.verbs)}] [${s(r.resourceNames)}]`);
}

function wildcards(rules: PolicyRule[]): string[] {
  const out: string[] = [];
  for (const r of rules) {
    for (const [field, xs] of Object.entries({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs, resourceNames: r.resourceNames ?? [] })) {
      for (const x of xs) if (x.includes('*')) out.push(`${field}: ${x}`);
    }
  }
  return out;
}

const doc = () => readFileSync(join(repoRoot(), 'docs', 'security.md'), 'utf8');
const all = (): [Scope, PolicyRule][] => [
  ...operatorClusterRules().map((r): [Scope, PolicyRule] => ['ClusterRole', r]),
  ...operatorNamespaceRules().map((r): [Scope, PolicyRule] => ['Role', r]),
];

describe('operator RBAC', () => {
  it('has no wildcard in any rule (and the check finds one)', () => {
    assert.deepEqual(wildcards(all().map(([, r]) => r)), []);
    assert.deepEqual(wildcards([{ apiGroups: [''], resources: ['*'], verbs: ['get'] }]), ['resources: *']);
  });

  it('every rule is in the documented table, and every documented rule is in the roles', () => {
    const rows = documentedRules(doc());
    for (const r of rows) assert.ok(r.why.length > 10, `a reason for ${canonical(r.scope, r.rule).join(' ')}`);
    const documented = rows.flatMap((r) => canonical(r.scope, r.rule)).sort();
    const actual = all().flatMap(([s, r]) => canonical(s, r)).sort();
    const undocumented = actual.filter((a) => !documented.includes(a));
    const stale = documented.filter((d) => !actual.includes(d));
    assert.deepEqual(undocumented, [], 'rules missing from docs/security.md');
    assert.deepEqual(stale, [], 'rules in docs/security.md that the roles do not have');
  });

  it('drops what the operator does not use and names what it owns', () => {
    const rules = all();
    const touches = (res: string) => rules.filter(([, r]) => r.resources.includes(res));
    for (const unused of ['poddisruptionbudgets', 'serviceaccounts', 'configmaps', 'certificaterequests', 'namespaces', 'pods/log', 'statefulsets/status'])
      assert.deepEqual(touches(unused), [], `no rule for ${unused}`);
    assert.ok(!rules.some(([, r]) => r.apiGroups.includes('events.k8s.io')), 'events only in core/v1, as the recorder writes them');
    // Owned cluster-scoped objects are named.
    for (const res of ['customresourcedefinitions', 'mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      for (const [, r] of touches(res)) assert.ok(r.resourceNames?.length, `${res} restricted by resourceNames`);
    }
    // The Lease: only a create (which cannot be named) in the operator's namespace, everything else by name.
    const leases = touches('leases');
    assert.ok(leases.every(([s]) => s === 'Role'), 'Leases only in the operator namespace');
    assert.ok(leases.every(([, r]) => r.resourceNames?.length || (r.verbs.length === 1 && r.verbs[0] === 'create')));
    // Secrets: read by name, listed by label selector (syncUsers, an ops request's own copy); never watched.
    const secretVerbs = touches('secrets').flatMap(([, r]) => r.verbs);
    assert.ok(!secretVerbs.includes('watch'), `secrets verbs: ${secretVerbs.join(',')}`);
    // No update anywhere except the finalizers subresource (blockOwnerDeletion).
    for (const [, r] of rules) if (r.verbs.includes('update')) assert.ok(r.resources.every((x) => x.endsWith('/finalizers')), `update on ${r.resources.join(',')}`);
    // Issuers are created and patched (a database's own client CA), never deleted: the garbage collector removes them with their Pgpool.
    for (const [, r] of touches('issuers')) assert.deepEqual(r.verbs.filter((v) => !['get', 'create', 'patch'].includes(v)), [], `issuers verbs: ${r.verbs.join(',')}`);
    assert.ok(!touches('clusterissuers').some(([, r]) => r.verbs.some((v) => v !== 'get')), 'ClusterIssuers are only read');
  });

  it('deploy/rbac.yaml is current (npm run gen)', () => {
    const file = readFileSync(join(repoRoot(), 'deploy', 'rbac.yaml'), 'utf8');
    const want = '# Generated by `npm run gen` from src/operator/rbac.ts; do not edit.\n' + deployRbac().map((o) => `---\n${stringify(o)}`).join('');
    assert.equal(file, want);
  });
});
