// The TLS material a ReconfigureTLS request moves between: the last working
// staged copy (saved when the request started, restored by a rollback) and the
// target staged from the new certificates; and the transitional states of a CA
// change, where each server trusts both CAs.
import { createHash } from 'node:crypto';
import { isConflict, type KubeObject } from '../../kube/api.ts';
import { readProgress } from '../ops-status.ts';
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

/** SHA-256 over the Secret's data (keys sorted): what status.progress.lastWorking records. */
export function materialDigest(data: Record<string, string>): string {
  const sorted = Object.keys(data).sort().map((k) => [k, data[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

type SecretObject = KubeObject & { data?: Record<string, string> };

const decoded = (s: SecretObject) => Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

/** The request's own last working Secret: it must be owned (controller) by this request, else it is someone else's. */
function ownedCopy(s: OpsScope, secret: SecretObject): Record<string, string> {
  const owned = secret.metadata?.ownerReferences?.some((r) => r.controller && r.uid === s.op.metadata.uid && r.kind === s.kind.info.opsKind);
  if (!owned) throw new StepFailed(`Secret ${s.op.metadata.namespace}/${lastWorkingName(s.op)} exists and is not owned by this request; it is not used as the last working TLS material (delete it, or name the request differently)`);
  return decoded(secret);
}

/**
 * Saves the staged TLS material as it is before anything changes, once, and
 * records its digest in status.progress, so a rollback restores exactly that.
 */
export async function saveLastWorking(s: OpsScope): Promise<void> {
  const { op, db } = s;
  const ns = op.metadata.namespace!;
  const current = (await readSecret(s.ctx.kube, db.metadata.namespace!, stagedTlsSecretName(db.metadata.name!))) ?? {};
  let saved = current;
  try {
    await s.ctx.kube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: lastWorkingName(op),
        namespace: ns,
        labels: { 'ops.kubedb.com/name': op.metadata.name!, 'ops.kubedb.com/kind': s.kind.info.opsKind },
        ownerReferences: [{ apiVersion: 'ops.kubedb.com/v1alpha1', kind: s.kind.info.opsKind, name: op.metadata.name!, uid: op.metadata.uid!, controller: true }],
      },
      type: 'Opaque',
      data: base64Values(current),
    });
  } catch (err) {
    if (!isConflict(err)) throw err;
    // Saved by an earlier pass (keep the first copy), or someone else's Secret of that name (refused).
    const existing = await s.ctx.kube.get<SecretObject>('v1', 'Secret', lastWorkingName(op), ns);
    if (!existing) throw err;
    saved = ownedCopy(s, existing);
  }
  if (!readProgress(s.op, s.ctx.clock.now()).lastWorking) s.op = await s.store.recordProgress(s.op, { lastWorking: materialDigest(saved) });
}

/** The saved copy, checked: owned by this request and unchanged since it was saved. */
export async function lastWorking(s: OpsScope): Promise<StagedTls | null> {
  const secret = await s.ctx.kube.get<SecretObject>('v1', 'Secret', lastWorkingName(s.op), s.op.metadata.namespace);
  if (!secret) throw new StepFailed(`the last working TLS material (Secret ${lastWorkingName(s.op)}) is gone`);
  const data = ownedCopy(s, secret);
  const recorded = readProgress(s.op, s.ctx.clock.now()).lastWorking;
  if (recorded !== materialDigest(data)) throw new StepFailed(`Secret ${s.op.metadata.namespace}/${lastWorkingName(s.op)} changed since it was saved; it is not used as the last working TLS material`);
  return asStagedTls(data);
}

/** The last working and the target material; stages the target from cert-manager's secrets (checked). */
export async function material(s: OpsScope, plan: TlsPlan, planned: DbObject): Promise<Material> {
  const last = await lastWorking(s);
  const target = plan.operation === 'remove' ? null : await s.kind.provisioner.stage!(s.ctx, planned);
  if (target === undefined) throw new StepFailed('the planned database has no TLS material');
  // Either trust bundle: the servers' CA, or the CA of the client certificates (a client CA of its own comes or goes).
  const caChange = !!(last && target) && (!sameCas(last['ca.crt'], target['ca.crt']) || !sameCas(last['client-ca.crt'] ?? last['ca.crt'], target['client-ca.crt'] ?? target['ca.crt']));
  return { last, target, caChange };
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
