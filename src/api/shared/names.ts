// KubeDB's NameWithSuffix (kmodules meta/lib.go): "<name>-<suffix>", the name
// cut so the result stays a valid 63-character label value.
const MAX = 63;

export function nameWithSuffix(name: string, suffix: string): string {
  const keep = Math.max(0, MAX - suffix.length - 1);
  return `${name.slice(0, keep)}-${suffix}`;
}

/** Default secret of a certificate alias: `<db>-<alias>-cert`. */
export function certSecretName(db: string, alias: string): string {
  return nameWithSuffix(db, `${alias}-cert`);
}

/** Default auth secret: `<db>-auth`. */
export function authSecretName(db: string): string {
  return nameWithSuffix(db, 'auth');
}
