// The admission rules for reconcilers: the same defaulters and validators the
// webhook runs, so a controller can refuse an object that reached etcd without
// the webhook (installed before it, or while it was down).
import { admissionKindFor } from './kinds.ts';
import type { Lookups } from './facts.ts';
import type { FieldError } from './field-error.ts';
import { ALL_KINDS } from '../api/kinds.ts';

/** Defaults then validates `obj` as on UPDATE; returns the field errors (empty = admissible). */
export async function guard(kind: string, obj: unknown, lookups: Lookups): Promise<FieldError[]> {
  const info = ALL_KINDS.find((k) => k.kind === kind);
  const k = info && admissionKindFor(info.plural);
  if (!k) throw new Error(`no admission rules for kind ${kind}`);
  const facts = await k.facts(obj, 'UPDATE', lookups);
  return k.validate(k.default(obj, facts), undefined, facts);
}
