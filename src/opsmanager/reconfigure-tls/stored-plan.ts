// The plan as read back from the request's status: never trusted as written.
// Its shape and enums are checked (the same validators admission runs), and
// what it says the request means must be what the immutable spec means when
// planned from the recorded starting point, so a forged plan cannot turn a
// rotation into something else, nor smuggle a value into a rendered file.
import { isDeepStrictEqual } from 'node:util';
import { CLIENT_AUTH_MODES, PGBOUNCER_AUTH_TYPES, SSL_MODES } from '../../api/shared/enums.ts';
import { formatFieldError, type FieldError } from '../../webhook/field-error.ts';
import { validateTlsConfig } from '../../webhook/validators/tls.ts';
import { POSTGRES_CERT_ALIASES } from '../../webhook/validators/postgres.ts';
import { PGBOUNCER_CERT_ALIASES } from '../../webhook/validators/pgbouncer.ts';
import { PGPOOL_CERT_ALIASES } from '../../webhook/validators/pgpool.ts';
import { StepFailed } from '../ops-type.ts';
import { planTls, type DbTls, type OpsTls, type StoredPlan, type TlsOperation } from './plan.ts';

const OPERATIONS: readonly TlsOperation[] = ['add', 'remove', 'rotate', 'change-issuer', 'update', 'none'];

const RULES: Record<string, { authModes: readonly string[]; aliases: readonly string[] }> = {
  Postgres: { authModes: CLIENT_AUTH_MODES, aliases: POSTGRES_CERT_ALIASES },
  PgBouncer: { authModes: PGBOUNCER_AUTH_TYPES, aliases: PGBOUNCER_CERT_ALIASES },
  Pgpool: { authModes: CLIENT_AUTH_MODES, aliases: PGPOOL_CERT_ALIASES },
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** JSON shape of a TLSConfig: only the fields it has, each of its type. */
function tlsShape(tls: unknown, path: string): string[] {
  if (tls === undefined) return [];
  if (!isObject(tls)) return [`${path} must be an object`];
  const errs: string[] = [];
  for (const k of Object.keys(tls)) if (k !== 'issuerRef' && k !== 'certificates') errs.push(`${path}.${k} is not a TLSConfig field`);
  const ref = tls.issuerRef;
  if (ref !== undefined && (!isObject(ref) || Object.entries(ref).some(([k, v]) => !['apiGroup', 'kind', 'name'].includes(k) || typeof v !== 'string'))) errs.push(`${path}.issuerRef must hold apiGroup, kind and name strings`);
  if (tls.certificates === undefined) return errs;
  if (!Array.isArray(tls.certificates)) return [...errs, `${path}.certificates must be a list`];
  tls.certificates.forEach((c: unknown, i) => {
    const p = `${path}.certificates[${i}]`;
    if (!isObject(c)) return errs.push(`${p} must be an object`);
    for (const [k, v] of Object.entries(c)) {
      const ok =
        ['alias', 'secretName', 'duration', 'renewBefore'].includes(k) ? typeof v === 'string'
        : ['dnsNames', 'ipAddresses', 'uris', 'emailAddresses'].includes(k) ? isStrings(v)
        : k === 'issuerRef' ? isObject(v) && Object.values(v).every((x) => typeof x === 'string')
        : k === 'subject' ? isObject(v) && Object.values(v).every((x) => typeof x === 'string' || isStrings(x))
        : k === 'privateKey' ? isObject(v) && (v.encoding === undefined || v.encoding === 'PKCS1' || v.encoding === 'PKCS8')
        : false;
      if (!ok) errs.push(`${p}.${k} is not a valid certificate field`);
    }
    return undefined;
  });
  return errs;
}

function dbTlsErrors(v: unknown, path: string, kind: string): string[] {
  if (!isObject(v)) return [`${path} must be an object`];
  const rules = RULES[kind];
  if (!rules) return [`no plan rules for kind ${kind}`];
  const errs: string[] = [];
  for (const k of Object.keys(v)) if (!['tls', 'sslMode', 'clientAuthMode'].includes(k)) errs.push(`${path}.${k} is not a plan field`);
  if (!SSL_MODES.includes(v.sslMode as never)) errs.push(`${path}.sslMode: Unsupported value: ${JSON.stringify(v.sslMode)}`);
  if (!rules.authModes.includes(v.clientAuthMode as string)) errs.push(`${path}.clientAuthMode: Unsupported value: ${JSON.stringify(v.clientAuthMode)}`);
  const shape = tlsShape(v.tls, `${path}.tls`);
  if (shape.length) return [...errs, ...shape];
  const semantic: FieldError[] = validateTlsConfig(v.tls as DbTls['tls'], `${path}.tls`, rules.aliases);
  return [...errs, ...semantic.map(formatFieldError)];
}

/** A plain JSON copy (undefined fields dropped), as the plan was stored. */
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/**
 * The recorded plan, checked: throws StepFailed (the request fails and rolls
 * back, never acts on it) when it is malformed or disagrees with the spec.
 */
export function readStoredPlan(raw: unknown, o: { kind: string; spec: OpsTls | undefined; defaultAuth: string }): StoredPlan {
  const bad = (why: string) => new StepFailed(`the recorded plan (status.progress.plan) is not valid: ${why}`);
  if (raw === undefined) throw new StepFailed('the request has no recorded plan (status.progress.plan)');
  if (!isObject(raw)) throw bad('not an object');
  const errs: string[] = [];
  if (!OPERATIONS.includes(raw.operation as TlsOperation)) errs.push(`operation: Unsupported value: ${JSON.stringify(raw.operation)}`);
  if (typeof raw.rotate !== 'boolean') errs.push('rotate must be true or false');
  errs.push(...dbTlsErrors(raw.from, 'from', o.kind), ...dbTlsErrors(raw.next, 'next', o.kind));
  for (const k of Object.keys(raw)) if (!['operation', 'rotate', 'from', 'next'].includes(k)) errs.push(`${k} is not a plan field`);
  if (errs.length) throw bad(errs.join('; '));
  const plan = raw as unknown as StoredPlan;
  // What the immutable spec means from the recorded starting point must be what was recorded.
  let expected;
  try {
    expected = json({ ...planTls(plan.from, o.spec ?? {}, o.defaultAuth), from: plan.from });
  } catch (err) {
    throw bad(`the request cannot be planned from it: ${(err as Error).message}`);
  }
  if (!isDeepStrictEqual(expected, json(plan))) throw bad('it does not match the request\'s spec');
  return plan;
}
