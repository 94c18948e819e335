// Kubernetes' field.Error, rendered the way kubectl users know it
// (k8s.io/apimachinery/pkg/util/validation/field/errors.go).
export type FieldErrorType = 'Required' | 'Invalid' | 'Unsupported' | 'Forbidden' | 'NotFound' | 'Duplicate';

export interface FieldError {
  type: FieldErrorType;
  field: string;
  value?: unknown;
  detail?: string;
}

/** Go's %#v-ish rendering that field.Error uses: strings quoted, numbers and booleans bare. */
function renderValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  return JSON.stringify(v);
}

const BODY: Record<FieldErrorType, string> = {
  Required: 'Required value',
  Invalid: 'Invalid value',
  Unsupported: 'Unsupported value',
  Forbidden: 'Forbidden',
  NotFound: 'Not found',
  Duplicate: 'Duplicate value',
};

const SHOWS_VALUE = new Set<FieldErrorType>(['Invalid', 'Unsupported', 'NotFound', 'Duplicate']);

export function formatFieldError(e: FieldError): string {
  let body = BODY[e.type];
  if (SHOWS_VALUE.has(e.type)) body += `: ${renderValue(e.value)}`;
  if (e.detail) body += `: ${e.detail}`;
  return `${e.field}: ${body}`;
}

/** `Kind.group "name" is invalid: [a, b]`, as apierrors.NewInvalid words it. */
export function formatInvalid(kindGroup: string, name: string, errs: FieldError[]): string {
  const list = errs.map(formatFieldError);
  const joined = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return `${kindGroup} "${name}" is invalid: ${joined}`;
}

export const required = (field: string, detail?: string): FieldError => ({ type: 'Required', field, detail });
export const invalid = (field: string, value: unknown, detail?: string): FieldError => ({ type: 'Invalid', field, value, detail });
export const forbidden = (field: string, detail: string): FieldError => ({ type: 'Forbidden', field, detail });
export const notFound = (field: string, value: unknown, detail?: string): FieldError => ({ type: 'NotFound', field, value, detail });
export const duplicate = (field: string, value: unknown): FieldError => ({ type: 'Duplicate', field, value });

/** field.NotSupported: lists the allowed values, quoted, in order. */
export function unsupported(field: string, value: unknown, allowed: readonly string[]): FieldError {
  return { type: 'Unsupported', field, value, detail: `supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}` };
}
