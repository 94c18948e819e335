// The admission behaviour of every kind, from the kinds list: the server
// routes by the kind's plural.
import { KINDS } from '../kinds/index.ts';
import type { AdmissionKind } from './admission-kind.ts';

export type { AdmissionKind } from './admission-kind.ts';

export const ADMISSION_KINDS: readonly AdmissionKind[] = KINDS.flatMap((k) => [k.admission.db, k.admission.ops]);

export function admissionKindFor(plural: string): AdmissionKind | undefined {
  return ADMISSION_KINDS.find((k) => k.info.plural === plural);
}
