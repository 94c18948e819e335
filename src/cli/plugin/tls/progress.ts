// An ops request's progress, read from its status.conditions as KubeDB writes
// them: step conditions (type == reason, in the order they finished) and
// sub-step conditions without a reason ("<verb>; ConditionStatus:True;
// PodName:<pod>; took 26ms; serves …"). Pure: follow.ts polls and prints.
import { fmtMs } from '../output.ts';

export interface OpsCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface OpsLike {
  kind?: string;
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string | Date; annotations?: Record<string, string> };
  spec?: { type?: string; databaseRef?: { name?: string } };
  status?: { phase?: string; conditions?: OpsCondition[]; progress?: { step?: { name?: string; startedAt?: string } } };
}

export interface PodStep {
  pod: string;
  action: string;
  ok: boolean;
  ms?: number;
  serves?: string;
}

export interface StepView {
  type: string;
  state: 'done' | 'failed' | 'running';
  /** Time the step finished (done/failed) or started (running). */
  at?: string;
  /** Since the previous step finished. */
  tookMs?: number;
  message?: string;
  pods: PodStep[];
  /** Other sub-steps, e.g. "check ready condition (Certificate:pg-server-cert)". */
  details: string[];
}

export interface ProgressView {
  kind: string;
  namespace: string;
  name: string;
  database: string;
  phase: string;
  elapsedMs: number;
  steps: StepView[];
  ended: boolean;
  failure?: string;
}

export const TERMINAL_PHASES = ['Successful', 'Failed', 'Skipped'];

// The step a sub-step belongs to, when it is still running (its step condition is not written yet).
function parentOf(type: string): string | undefined {
  const staged = /^(?:ReloadPod|RestartPod)-([A-Za-z]+)--/.exec(type);
  if (staged) return staged[1];
  if (/^ReloadPod--/.test(type)) return 'ReloadPods';
  if (/^(RestartPod|GetPod|EvictPod|CheckPodRunning|CheckPodReady)--/.test(type)) return 'RestartPods';
  if (/^(GetCertificate|CheckReadyCondition|CheckIssuingCondition)$/.test(type)) return 'CertificateSynced';
  return undefined;
}

function field(msg: string | undefined, key: string): string | undefined {
  return msg ? new RegExp(`(?:^|; )${key}:([^;]+)`).exec(msg)?.[1]?.trim() : undefined;
}

/** "reload pod; ConditionStatus:True; PodName:pg-0; took 26ms; serves certificate … (serial 0B1C, …)". */
export function podStep(c: OpsCondition): PodStep | undefined {
  const pod = field(c.message, 'PodName') ?? /--(.+)$/.exec(c.type)?.[1];
  if (!pod || !c.type.includes('--')) return undefined;
  const took = /took (\d+)ms/.exec(c.message ?? '');
  const servesText = /serves (.+)$/.exec(c.message ?? '')?.[1];
  let serves: string | undefined;
  if (servesText) {
    const serial = /serial ([0-9A-Fa-f]+)/.exec(servesText)?.[1];
    serves = serial ? `serial ${serial}` : /^no TLS/.test(servesText) ? 'no TLS' : servesText;
  }
  return {
    pod,
    action: (c.message ?? c.type).split(';')[0]!.trim(),
    ok: c.status === 'True',
    ...(took ? { ms: Number(took[1]) } : {}),
    ...(serves ? { serves } : {}),
  };
}

function isStep(c: OpsCondition): boolean {
  return !!c.reason && (c.reason === c.type || c.type === 'ReconfigureTLS' || c.reason === 'Failed');
}

function ms(t: string | undefined): number | undefined {
  const v = t ? Date.parse(t) : NaN;
  return Number.isNaN(v) ? undefined : v;
}

export function progressView(op: OpsLike, now = new Date()): ProgressView {
  const conds = op.status?.conditions ?? [];
  const phase = op.status?.phase ?? 'Pending';
  const steps: StepView[] = [];
  let pending: OpsCondition[] = [];
  // The request's own condition (type ReconfigureTLS) opens it, and KubeDB turns that same
  // condition False with reason Failed when it fails: then it is the last step, not the first.
  const opening = conds.find((c) => c.type === op.spec?.type);
  const openingFailed = !!opening && opening.status !== 'True';
  let prevAt = (openingFailed ? undefined : ms(opening?.lastTransitionTime)) ?? ms(String(op.metadata?.creationTimestamp ?? ''));
  const start = prevAt;
  let failure: string | undefined;

  const attach = (s: StepView, subs: OpsCondition[]) => {
    for (const c of subs) {
      const p = podStep(c);
      if (p) s.pods.push(p);
      else s.details.push(`${(c.message ?? c.type).split(';')[0]}${field(c.message, 'Certificate') ? ` (${field(c.message, 'Certificate')})` : ''}${c.status === 'True' ? '' : ': not yet'}`);
    }
  };
  const step = (c: OpsCondition, type: string, failed: boolean): StepView => {
    const at = ms(c.lastTransitionTime);
    const s: StepView = {
      type,
      state: failed ? 'failed' : 'done',
      ...(c.lastTransitionTime ? { at: c.lastTransitionTime } : {}),
      ...(at !== undefined && prevAt !== undefined ? { tookMs: Math.max(0, at - prevAt) } : {}),
      ...(c.message ? { message: c.message } : {}),
      pods: [],
      details: [],
    };
    if (at !== undefined) prevAt = at;
    return s;
  };

  for (const c of conds) {
    if (c === opening) continue;
    if (!isStep(c)) {
      pending.push(c);
      continue;
    }
    const failed = c.status !== 'True';
    if (failed || c.type === 'Skipped') failure = c.message;
    const s = step(c, c.type, failed);
    // Sub-steps recorded before this step closed belong to it, unless they name another step.
    const mine = pending.filter((p) => {
      const parent = parentOf(p.type);
      return !parent || parent === c.type;
    });
    attach(s, mine);
    pending = pending.filter((p) => !mine.includes(p));
    steps.push(s);
  }
  if (openingFailed) {
    failure = opening.message;
    const s = step(opening, 'Failed', true);
    attach(s, pending);
    pending = [];
    steps.push(s);
  }

  const ended = TERMINAL_PHASES.includes(phase);
  if (!ended) {
    // The running step: what the operator noted (status.progress.step; operators before issue 11 wrote the
    // annotation ops.pgtls.dev/step), else what its sub-steps say.
    // The note can be stale (a step without a deadline does not rewrite it): only a step not done yet counts.
    const st = op.status?.progress?.step;
    const note = st?.name ? `${st.name}${st.startedAt ? `@${st.startedAt}` : ''}` : op.metadata?.annotations?.['ops.pgtls.dev/step'];
    const noted = note && !steps.some((s) => s.type === note.split('@')[0]) ? note : undefined;
    const name = noted?.split('@')[0] ?? (pending.length ? parentOf(pending[pending.length - 1]!.type) : undefined);
    const started = noted?.includes('@') ? noted.slice(noted.indexOf('@') + 1) : undefined;
    if (phase === 'Progressing' || pending.length) {
      const s: StepView = { type: name ?? 'next step', state: 'running', ...(started ? { at: started } : {}), pods: [], details: [] };
      const since = ms(started) ?? prevAt;
      if (since !== undefined) s.tookMs = Math.max(0, now.getTime() - since);
      attach(s, pending);
      steps.push(s);
    }
  }
  const endAt = ended ? Math.max(...conds.map((c) => ms(c.lastTransitionTime) ?? 0)) : now.getTime();
  return {
    kind: op.kind ?? 'OpsRequest',
    namespace: op.metadata?.namespace ?? '',
    name: op.metadata?.name ?? '',
    database: op.spec?.databaseRef?.name ?? '',
    phase,
    elapsedMs: start !== undefined ? Math.max(0, endAt - start) : 0,
    steps,
    ended,
    ...(failure ? { failure } : {}),
  };
}

const MARK = { done: '✓', failed: '✗', running: '…' } as const;
// Fixed, so a line printed early lines up with one printed later: 'IssueCertificatesSucceeded' and two spaces.
const STEP_WIDTH = 28;

/** A step's line and its pods' lines. */
export function stepLines(s: StepView): string[] {
  const took = s.tookMs !== undefined ? (s.state === 'running' ? `${fmtMs(s.tookMs)} so far` : fmtMs(s.tookMs)) : '';
  const lines = [`  ${MARK[s.state]} ${s.type.padEnd(STEP_WIDTH)}${took.padStart(12)}${s.state === 'failed' && s.message ? `  ${s.message}` : ''}`];
  for (const p of s.pods) {
    lines.push(`      ${p.pod}: ${p.action}${p.ms !== undefined ? ` in ${fmtMs(p.ms)}` : ''}${p.serves ? `, serves ${p.serves}` : ''}${p.ok ? '' : ' (not yet)'}`);
  }
  if (s.state === 'running') for (const d of s.details) lines.push(`      ${d}`);
  return lines;
}

export function headerLine(v: ProgressView): string {
  return `${v.kind} ${v.namespace}/${v.name} (database ${v.database}): ${v.phase}, ${fmtMs(v.elapsedMs)}`;
}

export function outcomeLine(v: ProgressView): string {
  switch (v.phase) {
    case 'Successful':
      return `${v.kind} ${v.namespace}/${v.name}: Successful in ${fmtMs(v.elapsedMs)}`;
    case 'Failed':
      return `${v.kind} ${v.namespace}/${v.name}: Failed after ${fmtMs(v.elapsedMs)}${v.failure ? `: ${v.failure}` : ''}`;
    case 'Skipped':
      return `${v.kind} ${v.namespace}/${v.name}: Skipped${v.failure ? `: ${v.failure}` : ''}`;
    default:
      return `${v.kind} ${v.namespace}/${v.name}: ${v.phase} after ${fmtMs(v.elapsedMs)}`;
  }
}
