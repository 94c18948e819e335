// Whether a pod's Secret volumes already hold what the Secrets hold. A kubelet
// writes Secret changes into pods on its own schedule (60–90 s on a real one),
// and a reload only helps once the files are there. The wire shows a new
// certificate, but not a new trust bundle or a new config line: for those the
// files themselves are compared (sha256 inside the container) before a reload.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { k8s } from '../kube/client.ts';
import type { ExecResult, KubeClient } from '../kube/api.ts';
import { isSecretKey } from '../observability/redact.ts';

export interface ExpectedFile {
  path: string;
  sha256: string;
}

type SecretData = Record<string, string> | undefined;

const sha256 = (b64: string) => createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex');

function join(dir: string, file: string): string {
  return `${dir.replace(/\/+$/, '')}/${file}`;
}

/** The Secrets a container's volumes mount (by name), whole or by items; subPath mounts never update, so they are left out. */
function secretMounts(pod: k8s.V1Pod, container: string): { secret: string; mountPath: string; items?: { key: string; path: string }[] }[] {
  const spec = pod.spec;
  const c = [...(spec?.containers ?? [])].find((x) => x.name === container);
  const out: { secret: string; mountPath: string; items?: { key: string; path: string }[] }[] = [];
  for (const m of c?.volumeMounts ?? []) {
    if (m.subPath || m.subPathExpr) continue;
    const v = spec?.volumes?.find((x) => x.name === m.name);
    if (v?.secret?.secretName) out.push({ secret: v.secret.secretName, mountPath: m.mountPath, items: v.secret.items });
    for (const src of v?.projected?.sources ?? []) if (src.secret?.name) out.push({ secret: src.secret.name, mountPath: m.mountPath, items: src.secret.items });
  }
  return out;
}

/** What the container's Secret files should hold now (pure): only Secrets named for this database (`<db>-…`), no key or password files. */
export function expectedSecretFiles(pod: k8s.V1Pod, container: string, db: string, secrets: ReadonlyMap<string, SecretData>): ExpectedFile[] {
  const files: ExpectedFile[] = [];
  for (const m of secretMounts(pod, container)) {
    if (!m.secret.startsWith(`${db}-`)) continue;
    const data = secrets.get(m.secret);
    if (!data) continue; // optional and absent: the kubelet mounts nothing from it
    const items = m.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const it of items) {
      // The digests travel in the exec's URL, which an API server may log or audit: none of a key or a
      // password file (a weak password's is guessable). The wire proves a key with its certificate.
      if (data[it.key] === undefined || isSecretKey(basename(it.path)) || isSecretKey(it.key)) continue;
      files.push({ path: join(m.mountPath, it.path), sha256: sha256(data[it.key]!) });
    }
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The check and the reload in one exec (at 100 databases rotated at once, each
 * exec through the API server took ~0.7 s): `sha256sum -c` against what the
 * Secrets hold, then the reload only if every file is current. A container
 * without sha256sum reloads at once; the wire stays the only proof, as before.
 */
export const CHECKED_RELOAD_SCRIPT = [
  'list=$1; shift',
  'if command -v sha256sum >/dev/null 2>&1 && ! out=$(printf "%s" "$list" | sha256sum -c - 2>/dev/null); then printf "%s\\n%s\\n" "$out" "pgtls: stale files"; exit 86; fi',
  'exec "$@"',
].join('\n');

const STALE_MARK = 'pgtls: stale files';
const STALE_EXIT = 86;

/** The exec that checks `want` and then runs `reload` (pure). */
export function checkedReloadCommand(want: readonly ExpectedFile[], reload: readonly string[]): string[] {
  const list = want.map((f) => `${f.sha256}  ${f.path}\n`).join('');
  return ['sh', '-c', CHECKED_RELOAD_SCRIPT, 'pgtls-reload', list, ...reload];
}

/**
 * Paths not current, from the checked reload's output (pure): `<path>: FAILED…`
 * lines, and any expected path without an `<path>: OK` line. Undefined when the
 * output has neither (a sha256sum that could not check at all).
 */
export function staleFromCheck(want: readonly ExpectedFile[], out: string): string[] | undefined {
  const ok = new Set<string>();
  const failed = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^(.+): (OK|FAILED.*)$/.exec(line.trim());
    if (m) (m[2] === 'OK' ? ok : failed).add(m[1]!);
  }
  if (ok.size === 0 && failed.size === 0) return undefined;
  return want.filter((f) => failed.has(f.path) || !ok.has(f.path)).map((f) => f.path);
}

/** One short digest of a set of expected files: the state a pod is nudged for. */
export function filesMark(want: readonly ExpectedFile[]): string {
  return createHash('sha256').update(want.map((f) => `${f.path}=${f.sha256}`).join('\n')).digest('hex').slice(0, 16);
}

export type CheckedReload =
  | { reloaded: true; result: ExecResult }
  /** Nothing reloaded: these paths still lag the Secrets (`want`: what they should hold). */
  | { reloaded: false; stale: string[]; want: ExpectedFile[] };

/** Reloads the container once its Secret files hold what the Secrets hold: reads the Secrets, then one exec. */
export async function reloadWhenFilesCurrent(kube: KubeClient, pod: k8s.V1Pod, container: string, db: string, reload: readonly string[], timeoutMs: number): Promise<CheckedReload> {
  const namespace = pod.metadata!.namespace!;
  const target = { namespace, name: pod.metadata!.name!, container };
  const secrets = new Map<string, SecretData>();
  for (const m of secretMounts(pod, container)) {
    if (!m.secret.startsWith(`${db}-`) || secrets.has(m.secret)) continue;
    secrets.set(m.secret, (await kube.get<k8s.V1Secret & { apiVersion: string; kind: string }>('v1', 'Secret', m.secret, namespace))?.data);
  }
  const want = expectedSecretFiles(pod, container, db, secrets);
  // A path sha256sum would escape in its list cannot be checked this way (none of ours is such).
  if (want.length === 0 || want.some((f) => /[\n\\]/.test(f.path))) return { reloaded: true, result: await kube.exec(target, [...reload], timeoutMs) };
  const r = await kube.exec(target, checkedReloadCommand(want, reload), timeoutMs);
  if (r.exitCode !== STALE_EXIT || !r.stdout.includes(STALE_MARK)) return { reloaded: true, result: r };
  const stale = staleFromCheck(want, r.stdout);
  // A sha256sum that cannot check (an option it lacks): the wire stays the only proof, as without one.
  if (stale === undefined) return { reloaded: true, result: await kube.exec(target, [...reload], timeoutMs) };
  return { reloaded: false, stale, want };
}
