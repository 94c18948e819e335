// Whether a pod's Secret volumes already hold what the Secrets hold. A kubelet
// writes Secret changes into pods on its own schedule (60–90 s on a real one),
// and a reload only helps once the files are there. The wire shows a new
// certificate, but not a new trust bundle or a new config line: for those the
// files themselves are compared (sha256 inside the container) before a reload.
import { createHash } from 'node:crypto';
import type { k8s } from '../kube/client.ts';
import type { KubeClient } from '../kube/api.ts';

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

/** What the container's Secret files should hold now (pure): only Secrets named for this database (`<db>-…`). */
export function expectedSecretFiles(pod: k8s.V1Pod, container: string, db: string, secrets: ReadonlyMap<string, SecretData>): ExpectedFile[] {
  const files: ExpectedFile[] = [];
  for (const m of secretMounts(pod, container)) {
    if (!m.secret.startsWith(`${db}-`)) continue;
    const data = secrets.get(m.secret);
    if (!data) continue; // optional and absent: the kubelet mounts nothing from it
    const items = m.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const it of items) if (data[it.key] !== undefined) files.push({ path: join(m.mountPath, it.path), sha256: sha256(data[it.key]!) });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Paths whose content differs from `want`, from `sha256sum` output (pure). A file missing from the output is stale. */
export function staleFiles(want: readonly ExpectedFile[], sha256sumOut: string): string[] {
  const got = new Map<string, string>();
  for (const line of sha256sumOut.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (m) got.set(m[2]!, m[1]!);
  }
  return want.filter((f) => got.get(f.path) !== f.sha256).map((f) => f.path);
}

/** One short digest of a set of expected files: the state a pod is nudged for. */
export function filesMark(want: readonly ExpectedFile[]): string {
  return createHash('sha256').update(want.map((f) => `${f.path}=${f.sha256}`).join('\n')).digest('hex').slice(0, 16);
}

export interface FileCheck {
  want: ExpectedFile[];
  /** Paths not yet as the Secrets say; empty when current, or when the container cannot tell (no sha256sum). */
  stale: string[];
}

/** Compares the container's Secret files with the Secrets, reading the Secrets and running one sha256sum. */
export async function checkPodFiles(kube: KubeClient, pod: k8s.V1Pod, container: string, db: string): Promise<FileCheck> {
  const namespace = pod.metadata!.namespace!;
  const secrets = new Map<string, SecretData>();
  for (const m of secretMounts(pod, container)) {
    if (!m.secret.startsWith(`${db}-`) || secrets.has(m.secret)) continue;
    secrets.set(m.secret, (await kube.get<k8s.V1Secret & { apiVersion: string; kind: string }>('v1', 'Secret', m.secret, namespace))?.data);
  }
  const want = expectedSecretFiles(pod, container, db, secrets);
  if (want.length === 0) return { want, stale: [] };
  const r = await kube.exec({ namespace, name: pod.metadata!.name!, container }, ['sha256sum', '--', ...want.map((f) => f.path)], 20_000);
  // Exit 1 with output: some file missing or unreadable (stale). Anything else without output: the
  // container has no sha256sum; the wire stays the only proof, as before.
  if (r.stdout.trim() === '' && r.exitCode !== 0) return { want, stale: [] };
  return { want, stale: staleFiles(want, r.stdout) };
}
