// A validator looks at one concern and returns the field errors it finds.
import type { FieldError } from '../field-error.ts';
import type { AdmissionFacts } from '../facts.ts';

export type Validator<T> = (obj: T, old: T | undefined, facts: AdmissionFacts) => FieldError[];

/** Runs every validator of a list and joins their findings. */
export function runValidators<T>(list: readonly Validator<T>[], obj: T, old: T | undefined, facts: AdmissionFacts): FieldError[] {
  return list.flatMap((v) => v(obj, old, facts));
}
