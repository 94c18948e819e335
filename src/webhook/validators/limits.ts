// Hostile or careless input refused at admission, with field paths (issue 11
// item 9): names whose derived objects would not fit Kubernetes' limits,
// replicas, certificate durations, ports, ops-request timeouts and retries
// beyond sane bounds, and updates of fields KubeDB treats as immutable.
import { isDeepStrictEqual } from 'node:util';
import { forbidden, invalid, type FieldError } from '../field-error.ts';
import { majorVersion, type AdmissionFacts } from '../facts.ts';

/** A Service name (DNS-1035 label): what `<db>`, `<db>-pods` and `<db>-standby` must each be. */
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The longest database name: its StatefulSet's pods carry the label
 * controller-revision-hash=<name>-<10-character hash>, which must fit in 63.
 */
export const MAX_NAME = 52;
/** generateName gets 5 random characters appended. */
const GENERATED_SUFFIX = 5;

export const MAX_REPLICAS = 9;

/** cert-manager refuses certificates shorter than an hour; renewals need time to happen. */
export const MIN_DURATION_MS = 60 * 60_000;
export const MIN_RENEW_BEFORE_MS = 5 * 60_000;

/** An ops step gets at least 10 s and at most a day. */
export const MIN_OPS_TIMEOUT_MS = 10_000;
export const MAX_OPS_TIMEOUT_MS = 24 * 60 * 60_000;
/** Same bound as the reconciler's (opsmanager/ops-status.ts MAX_RETRIES). */
export const MAX_OPS_RETRIES = 10;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in ms; undefined when it is not one (validateDuration reports that). */
export function durationMs(v: string): number | undefined {
  if (!/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return undefined;
  let total = 0;
  for (const m of v.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

interface Named {
  metadata?: { name?: string; generateName?: string };
}

/** metadata.name (or generateName): a DNS-1035 label short enough for every derived name. */
export function validateName(obj: Named): FieldError[] {
  const name = obj.metadata?.name;
  const gen = obj.metadata?.generateName;
  if (!name && gen) {
    if (gen.length + GENERATED_SUFFIX > MAX_NAME) return [invalid('metadata.generateName', gen, `must be no more than ${MAX_NAME - GENERATED_SUFFIX} characters (5 random characters are appended, and the name must fit in ${MAX_NAME})`)];
    if (!/^[a-z]([-a-z0-9]*)$/.test(gen)) return [invalid('metadata.generateName', gen, 'must start with a lowercase letter and hold only lowercase letters, digits and "-"')];
    return [];
  }
  if (!name) return [];
  if (name.length > MAX_NAME) return [invalid('metadata.name', name, `must be no more than ${MAX_NAME} characters: the StatefulSet's pods are labelled controller-revision-hash=${'<name>'}-<hash>, which must fit in 63`)];
  if (!DNS1035.test(name)) return [invalid('metadata.name', name, 'must be a DNS-1035 label, as its Services are named after it: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit')];
  return [];
}

/** A port a server listens on. */
export function validatePort(port: number | undefined, path: string): FieldError[] {
  if (port === undefined || (Number.isInteger(port) && port >= 1 && port <= 65535)) return [];
  return [invalid(path, port, 'must be a port number between 1 and 65535')];
}

type Cert = { duration?: string; renewBefore?: string };

/** duration and renewBefore of one certificate: above their floors, and renewal before expiry. */
export function validateCertificateTimes(c: Cert, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const d = c.duration === undefined ? undefined : durationMs(c.duration);
  const rb = c.renewBefore === undefined ? undefined : durationMs(c.renewBefore);
  if (d !== undefined && d < MIN_DURATION_MS) errs.push(invalid(`${path}.duration`, c.duration, 'must be at least 1h (cert-manager\'s minimum)'));
  if (rb !== undefined && rb < MIN_RENEW_BEFORE_MS) errs.push(invalid(`${path}.renewBefore`, c.renewBefore, 'must be at least 5m'));
  // cert-manager's default duration is 90 days (2160h).
  const effective = d ?? 2160 * 3_600_000;
  if (rb !== undefined && rb >= effective) errs.push(invalid(`${path}.renewBefore`, c.renewBefore, `must be shorter than the certificate's duration (${c.duration ?? '2160h, the default'})`));
  return errs;
}

export function validateCertificatesTimes(certs: Cert[] | undefined, path: string): FieldError[] {
  return (certs ?? []).flatMap((c, i) => validateCertificateTimes(c, `${path}[${i}]`));
}

type DbSpec = { version?: string; storage?: unknown; authSecret?: { name?: string } };

/** Updates KubeDB refuses: a major version downgrade, a new storage request, another auth secret. */
export function validateImmutableFields(db: { spec: DbSpec }, old: { spec: DbSpec } | undefined, facts: AdmissionFacts): FieldError[] {
  if (!old) return [];
  const errs: FieldError[] = [];
  const from = majorVersion(facts.versions, old.spec.version);
  const to = majorVersion(facts.versions, db.spec.version);
  if (from !== undefined && to !== undefined && to < from) errs.push(forbidden('spec.version', `"${db.spec.version}" is major version ${to}, older than the running ${from} ("${old.spec.version}"): a downgrade across major versions cannot read the data`));
  if (old.spec.storage !== undefined && !isDeepStrictEqual(old.spec.storage, db.spec.storage)) errs.push(forbidden('spec.storage', 'field is immutable; storage cannot change after creation'));
  const oldAuth = old.spec.authSecret?.name;
  if (oldAuth && db.spec.authSecret?.name !== oldAuth) errs.push(forbidden('spec.authSecret.name', `field is immutable (was "${oldAuth}"): the database's users were created with that secret's credentials`));
  return errs;
}

/** spec.timeout and spec.maxRetries of an ops request. */
export function validateOpsBounds(ops: { spec: { timeout?: string; maxRetries?: number } }): FieldError[] {
  const errs: FieldError[] = [];
  const t = ops.spec.timeout === undefined ? undefined : durationMs(ops.spec.timeout);
  if (t !== undefined && t < MIN_OPS_TIMEOUT_MS) errs.push(invalid('spec.timeout', ops.spec.timeout, 'must be at least 10s'));
  if (t !== undefined && t > MAX_OPS_TIMEOUT_MS) errs.push(invalid('spec.timeout', ops.spec.timeout, 'must be at most 24h'));
  const r = ops.spec.maxRetries;
  if (r !== undefined && (!Number.isInteger(r) || r < 0 || r > MAX_OPS_RETRIES)) errs.push(invalid('spec.maxRetries', r, `must be between 0 and ${MAX_OPS_RETRIES}`));
  return errs;
}
