// The TLS material a ReconfigureTLS request moves between: the last working
// staged copy (saved when the request started, restored by a rollback) and the
// target staged from the new certificates; and the transitional states of a CA
// change, where each server trusts both CAs.
import { isConflict } from '../../kube/api.ts';
import { bundleFingerprints, mergeCaBundles } from '../../certs/index.ts';
import type { DbObject, OpsObject } from '../../api/objects.ts';
import { readSecret } from '../../provisioner/objects.ts';
import { base64Values } from '../../provisioner/specs/secrets.ts';
import { asStagedTls, stagedTlsSecretName, type StagedTls } from '../../provisioner/specs/tls-staging.ts';
import { StepFailed, type OpsScope } from '../ops-type.ts';
import type { TlsPlan } from './plan.ts';

export interface Material {
  /** What the servers served before the request (null: no TLS). */
  last: StagedTls | null;
  /** What they serve after it (null: TLS removed). */
  target: StagedTls | null;
  caChange: boolean;
}

/** The staged TLS secret as it is before anything changes: what a rollback restores. */
export function lastWorkingName(op: OpsObject): string {
  return `${op.metadata.name}-last-working`;
}

export async function saveLastWorking(s: OpsScope): Promise<void> {
  const { op, db } = s;
  const current = (await readSecret(s.ctx.kube, db.metadata.namespace!, stagedTlsSecretName(db.metadata.name!))) ?? {};
  try {
    await s.ctx.kube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: lastWorkingName(op),
        namespace: op.metadata.namespace,
        labels: { 'ops.kubedb.com/name': op.metadata.name!, 'ops.kubedb.com/kind': s.kind.info.opsKind },
        ownerReferences: [{ apiVersion: 'ops.kubedb.com/v1alpha1', kind: s.kind.info.opsKind, name: op.metadata.name!, uid: op.metadata.uid!, controller: true }],
      },
      type: 'Opaque',
      data: base64Values(current),
    });
  } catch (err) {
    if (!isConflict(err)) throw err; // saved by an earlier pass: keep the first copy
  }
}

export async function lastWorking(s: OpsScope): Promise<StagedTls | null> {
  return asStagedTls(await readSecret(s.ctx.kube, s.op.metadata.namespace!, lastWorkingName(s.op)));
}

/** The last working and the target material; stages the target from cert-manager's secrets (checked). */
export async function material(s: OpsScope, plan: TlsPlan, planned: DbObject): Promise<Material> {
  const last = await lastWorking(s);
  const target = plan.operation === 'remove' ? null : await s.kind.provisioner.stage!(s.ctx, planned);
  if (target === undefined) throw new StepFailed('the planned database has no TLS material');
  return { last, target, caChange: !!(last && target) && !sameCas(last['ca.crt'], target['ca.crt']) };
}

function sameCas(a: string, b: string): boolean {
  return bundleFingerprints(a).sort().join() === bundleFingerprints(b).sort().join();
}

/** The same material, its trust bundles extended with the other state's CAs. */
export function withTrust(s: StagedTls, other: StagedTls): StagedTls {
  const out: StagedTls = { ...s, 'ca.crt': mergeCaBundles(s['ca.crt'], other['ca.crt']) };
  if (s['client-ca.crt']) out['client-ca.crt'] = mergeCaBundles(s['client-ca.crt'], other['client-ca.crt'] ?? other['ca.crt']);
  if (s['backend-ca.crt']) out['backend-ca.crt'] = mergeCaBundles(s['backend-ca.crt'], other['backend-ca.crt'] ?? '');
  return out;
}

/** What the servers serve in the RollPods step: the target, still trusting the old CA during a CA change. */
export function served(m: Material, path: 'reload' | 'restart'): StagedTls | null {
  return m.target && m.caChange && path === 'reload' && m.last ? withTrust(m.target, m.last) : m.target;
}
