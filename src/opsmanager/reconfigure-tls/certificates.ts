// The certificate steps: ask cert-manager to re-issue (IssueCertificates), and
// wait until every planned Certificate is Ready for its current generation and,
// when rotating, re-issued (SyncCertificates).
import type { KubeObject } from '../../kube/api.ts';
import { isConditionTrue, setCondition, type Condition } from '../../kube/conditions.ts';
import type { DbObject } from '../../api/objects.ts';
import { readProgress, subStep } from '../ops-status.ts';
import { StepFailed, type StepScope } from '../ops-type.ts';

type Certificate = KubeObject & { metadata: { name: string; generation?: number }; status?: { revision?: number; conditions?: Condition[] } };

/** The Certificates among a database's cert-manager objects (the rest are its own client CA's Issuers). */
const certificatesOnly = (objs: KubeObject[]) => objs.filter((o) => o.kind === 'Certificate');

function getCertificate(s: StepScope, name: string): Promise<Certificate | undefined> {
  return s.ctx.kube.get<Certificate>('cert-manager.io/v1', 'Certificate', name, s.op.metadata.namespace);
}

/** The revisions recorded before the rotation (validated), or undefined before they are. */
function revisionsBefore(s: StepScope): Record<string, number> | undefined {
  return readProgress(s.op, s.ctx.clock.now()).revisions;
}

/** What `cmctl renew` does: cert-manager re-issues a Certificate whose Issuing condition is True. */
export async function issueCertificates(s: StepScope, planned: DbObject): Promise<void> {
  // A client CA of the database's own is not re-issued: it keeps its key, so a new copy would change nothing.
  const certs = certificatesOnly(s.kind.provisioner.certificates(planned)).filter((c) => !(c as { spec?: { isCA?: boolean } }).spec?.isCA);
  // The revisions before, recorded once, so a resumed step knows what "re-issued" means.
  if (!revisionsBefore(s)) {
    const revisions: Record<string, number> = {};
    for (const c of certs) revisions[c.metadata!.name!] = (await getCertificate(s, c.metadata!.name!))?.status?.revision ?? 0;
    s.op = await s.store.recordProgress(s.op, { revisions });
  }
  const revisions = revisionsBefore(s) ?? {};
  for (const c of certs) {
    const name = c.metadata!.name!;
    const got = await getCertificate(s, name);
    if (!got) continue;
    if ((got.status?.revision ?? 0) > (revisions[name] ?? 0)) continue; // already re-issued
    if (isConditionTrue(got.status?.conditions, 'Issuing')) continue;
    await s.ctx.kube.patchStatus({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name, namespace: s.op.metadata.namespace }, {
      conditions: setCondition(got.status?.conditions, {
        type: 'Issuing',
        status: 'True',
        reason: 'ManuallyTriggered',
        message: `Certificate re-issuance manually triggered by ${s.kind.info.opsKind} ${s.op.metadata.name}`,
      }, new Date(s.ctx.clock.now())),
    });
  }
}

/** Applies the planned Certificates (and Issuers); true once cert-manager has issued every Certificate (Ready, not Issuing, current generation, re-issued when rotating). */
export async function syncCertificates(s: StepScope, planned: DbObject, deadline: number): Promise<boolean> {
  if (s.ctx.clock.now() > deadline) throw new StepFailed('certificates were not issued in time');
  const revisions = revisionsBefore(s) ?? {};
  let allOk = true;
  let conds = s.op.status?.conditions ?? [];
  const now = new Date(s.ctx.clock.now());
  const objects = s.kind.provisioner.certificates(planned);
  for (const o of objects) if (o.kind !== 'Certificate') await s.ctx.kube.apply(o);
  for (const c of certificatesOnly(objects)) {
    await s.ctx.kube.apply(c);
    const name = c.metadata!.name!;
    const got = await getCertificate(s, name);
    const ready = got?.status?.conditions?.find((x) => x.type === 'Ready');
    const readyOk = ready?.status === 'True' && ready.observedGeneration === got?.metadata.generation;
    const issuing = isConditionTrue(got?.status?.conditions, 'Issuing');
    const reissued = revisions[name] === undefined || (got?.status?.revision ?? 0) > revisions[name]!;
    conds = setCondition(conds, subStep('GetCertificate', 'get certificate', !!got, undefined, `Certificate:${name}`), now);
    conds = setCondition(conds, subStep('CheckReadyCondition', 'check ready condition', readyOk, undefined, `Certificate:${name}`), now);
    conds = setCondition(conds, subStep('CheckIssuingCondition', 'check issuing condition', !issuing && reissued, undefined, `Certificate:${name}`), now);
    if (!got || !readyOk || issuing || !reissued) allOk = false;
  }
  // Sub-steps as KubeDB records them; one condition each, naming the last certificate looked at.
  if (JSON.stringify(conds) !== JSON.stringify(s.op.status?.conditions ?? [])) s.op = await s.store.writeStatus(s.op, { ...(s.op.status ?? {}), conditions: conds });
  return allOk;
}
