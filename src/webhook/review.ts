// AdmissionReview (admission.k8s.io/v1) handling: mutate = JSONPatch of the
// defaults; validate = the kind's validators, denial worded as field errors.
import type { AdmissionKind } from './kinds.ts';
import type { Lookups, Operation, UserInfo } from './facts.ts';
import { diff } from './json-patch.ts';
import { cnOnlyWarnings } from './cn-only-warning.ts';
import { missingIssuerWarnings } from './issuer-check.ts';
import { formatFieldError, formatInvalid, type FieldError } from './field-error.ts';

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
  userInfo?: UserInfo;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string; details?: unknown };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

const allow = (uid: string): AdmissionResponse => ({ uid, allowed: true });

const hasSpec = (o: unknown): boolean => typeof (o as { spec?: unknown } | undefined)?.spec === 'object' && (o as { spec: unknown }).spec !== null;

const CAUSE: Record<FieldError['type'], string> = {
  Required: 'FieldValueRequired',
  Invalid: 'FieldValueInvalid',
  Unsupported: 'FieldValueNotSupported',
  Forbidden: 'FieldValueForbidden',
  NotFound: 'FieldValueNotFound',
  Duplicate: 'FieldValueDuplicate',
};

export function deny(k: AdmissionKind, req: AdmissionRequest, errs: FieldError[]): AdmissionResponse {
  const name = req.name ?? (req.object as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? '';
  return {
    uid: req.uid,
    allowed: false,
    status: {
      code: 422,
      reason: 'Invalid',
      message: formatInvalid(`${k.info.kind}.${k.info.group}`, name, errs),
      details: {
        name, group: k.info.group, kind: k.info.kind,
        causes: errs.map((e) => ({ reason: CAUSE[e.type], field: e.field, message: formatFieldError(e).slice(e.field.length + 2) })),
      },
    },
  };
}

export async function mutate(k: AdmissionKind, req: AdmissionRequest, lookups: Lookups): Promise<AdmissionResponse> {
  if ((req.operation !== 'CREATE' && req.operation !== 'UPDATE') || req.subResource || !hasSpec(req.object)) return allow(req.uid);
  let defaulted: unknown;
  try {
    defaulted = k.default(req.object, await k.facts(req.object, req.operation, lookups));
  } catch {
    // Malformed input (a string where an object belongs): leave it to schema validation, which names the field.
    return allow(req.uid);
  }
  const ops = diff(req.object, defaulted);
  if (ops.length === 0) return allow(req.uid);
  return { uid: req.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') };
}

export async function validate(k: AdmissionKind, req: AdmissionRequest, lookups: Lookups): Promise<AdmissionResponse> {
  if (req.operation === 'DELETE') {
    const errs = req.subResource || !req.oldObject ? [] : k.validateDelete(req.oldObject);
    return errs.length ? deny(k, req, errs) : allow(req.uid);
  }
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow(req.uid);
  // The user's rights first: a refused reference must not go on to reveal what the operator can see.
  const denied = req.subResource ? [] : await k.authorize(req.object, req.operation === 'UPDATE' ? req.oldObject : undefined, req.userInfo, lookups);
  if (denied.length) return deny(k, req, denied);
  const facts = await k.facts(req.object, req.operation, lookups);
  const errs = k.validate(req.object, req.operation === 'UPDATE' ? req.oldObject : undefined, facts);
  if (errs.length) return deny(k, req, errs);
  const warnings = req.subResource ? [] : [...(await missingIssuerWarnings(req.object, lookups)), ...cnOnlyWarnings(req.object, req.operation === 'UPDATE' ? req.oldObject : undefined)];
  return warnings.length ? { ...allow(req.uid), warnings } : allow(req.uid);
}
