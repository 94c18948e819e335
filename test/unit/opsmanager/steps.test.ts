// nextStep: the ReconfigureTLS step machine decided from a table of plans,
// recorded conditions and facts, with no API server at all.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition } from '../../../src/kube/conditions.ts';
import { conditionOf, needsMaterial, nextStep, type TlsFacts } from '../../../src/opsmanager/reconfigure-tls/steps.ts';
import type { TlsOperation } from '../../../src/opsmanager/reconfigure-tls/plan.ts';

const done = (...types: string[]): Condition[] => types.map((type) => ({ type, status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }));
const plan = (operation: TlsOperation, rotate = false) => ({ operation, rotate });
const reload: TlsFacts = { path: 'reload', caChange: false };

const table: [string, ReturnType<typeof plan>, Condition[], TlsFacts, string][] = [
  ['nothing done: pause first', plan('rotate', true), [], { path: 'reload' }, 'Pause'],
  ['rotate: re-issue after pausing', plan('rotate', true), done('DatabasePauseSucceeded'), { path: 'reload' }, 'IssueCertificates'],
  ['update without rotation: no re-issue, straight to sync', plan('update'), done('DatabasePauseSucceeded'), { path: 'reload' }, 'SyncCertificates'],
  ['remove: no certificates at all', plan('remove'), done('DatabasePauseSucceeded'), reload, 'UpdatePetSets'],
  ['synced, same CA: write the new state', plan('rotate', true), done('DatabasePauseSucceeded', 'IssueCertificatesSucceeded', 'CertificateSynced'), reload, 'UpdatePetSets'],
  ['synced, new CA, reload: trust both first', plan('change-issuer'), done('DatabasePauseSucceeded', 'CertificateSynced'), { path: 'reload', caChange: true }, 'TrustBothCAs'],
  ['synced, new CA, restart: no transition state', plan('change-issuer'), done('DatabasePauseSucceeded', 'CertificateSynced'), { path: 'restart', caChange: true }, 'UpdatePetSets'],
  ['state written: roll the pods', plan('add'), done('DatabasePauseSucceeded', 'CertificateSynced', 'UpdatePetSets'), reload, 'RollPods'],
  ['restart path records RestartPods', plan('add'), done('DatabasePauseSucceeded', 'CertificateSynced', 'UpdatePetSets', 'RestartPods'), { path: 'restart', caChange: false }, 'UpdateDatabase'],
  ['new CA served: drop the old one', plan('change-issuer'), done('DatabasePauseSucceeded', 'CertificateSynced', 'TrustBundleUpdated', 'UpdatePetSets', 'ReloadPods'), { path: 'reload', caChange: true }, 'DropOldCA'],
  ['all served: the spec follows', plan('change-issuer'), done('DatabasePauseSucceeded', 'CertificateSynced', 'TrustBundleUpdated', 'UpdatePetSets', 'ReloadPods', 'DropOldCA'), { path: 'reload', caChange: true }, 'UpdateDatabase'],
  ['everything done: resume', plan('rotate', true), done('DatabasePauseSucceeded', 'IssueCertificatesSucceeded', 'CertificateSynced', 'UpdatePetSets', 'ReloadPods', 'UpdateDatabase'), reload, 'Resume'],
];

describe('ReconfigureTLS nextStep', () => {
  for (const [what, p, conds, facts, want] of table) {
    it(what, () => assert.equal(nextStep(p, conds, facts), want));
  }

  it('a condition that is False does not count as done', () => {
    assert.equal(nextStep(plan('add'), [{ type: 'DatabasePauseSucceeded', status: 'False', lastTransitionTime: '' }], reload), 'Pause');
  });

  it('needs the staged material only once the certificates are synced (or TLS goes away)', () => {
    assert.equal(needsMaterial(plan('rotate'), done('DatabasePauseSucceeded')), false);
    assert.equal(needsMaterial(plan('rotate'), done('CertificateSynced')), true);
    assert.equal(needsMaterial(plan('remove'), []), true);
    assert.throws(() => nextStep(plan('change-issuer'), done('DatabasePauseSucceeded', 'CertificateSynced'), { path: 'reload' }), /not known yet/);
  });

  it('names the conditions as KubeDB does', () => {
    assert.deepEqual(
      (['Pause', 'IssueCertificates', 'SyncCertificates', 'TrustBothCAs', 'UpdatePetSets', 'RollPods', 'DropOldCA', 'UpdateDatabase', 'Resume'] as const).map((s) => conditionOf(s, 'reload')),
      ['DatabasePauseSucceeded', 'IssueCertificatesSucceeded', 'CertificateSynced', 'TrustBundleUpdated', 'UpdatePetSets', 'ReloadPods', 'DropOldCA', 'UpdateDatabase', 'Successful'],
    );
    assert.equal(conditionOf('RollPods', 'restart'), 'RestartPods');
  });
});
