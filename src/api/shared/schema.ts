// Small TypeBox builders for shapes a CRD's structural schema accepts: TypeBox's
// own unions and records become anyOf/patternProperties, which Kubernetes refuses.
import { Type, type TSchema, type SchemaOptions, type TUnsafe } from '@sinclair/typebox';

/** A string enum the API server enforces ("Unsupported value: ... supported values: ..."). */
export function StringEnum<const T extends readonly string[]>(values: T, opts: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...opts, type: 'string', enum: [...values] });
}

/** A block we carry but do not interpret (podTemplate, monitor, ...): kept verbatim. */
export function Opaque(opts: SchemaOptions = {}): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ ...opts, type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
}

/** A list of opaque objects (serviceTemplates, readReplicas, ...). */
export function OpaqueList(opts: SchemaOptions = {}): TUnsafe<Record<string, unknown>[]> {
  return Type.Unsafe<Record<string, unknown>[]>({
    ...opts,
    type: 'array',
    items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  });
}

export function StringMap(opts: SchemaOptions = {}): TUnsafe<Record<string, string>> {
  return Type.Unsafe<Record<string, string>>({ ...opts, type: 'object', additionalProperties: { type: 'string' } });
}

export const Int32 = (opts: SchemaOptions = {}) => Type.Integer({ format: 'int32', ...opts });
export const Int64 = (opts: SchemaOptions = {}) => Type.Integer({ format: 'int64', ...opts });

/** Lists of strings appear everywhere in certificate subjects. */
export const Strings = (opts: SchemaOptions = {}) => Type.Array(Type.String(), opts);

/**
 * The OpenAPI v3 form of a TypeBox schema: TypeBox marks kinds and optionality
 * with symbol keys, which JSON drops, so a JSON round trip is the conversion.
 */
export function toOpenApi(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
