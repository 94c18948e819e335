// `pgtls up --operator=chart`: the operator installed on the local cluster as
// on any other, with the Helm chart: a Deployment on the local node running
// the operator image, its webhook reached through its Service. Ready when the
// Deployment is (helm --wait) and the API server calls the webhook.
import { join } from 'node:path';
import type { HomeLayout } from '../local/home.ts';
import type { ClusterConfig } from '../local/controlplane/config.ts';
import { isNotFound, type Kube } from '../kube/client.ts';
import { k8s } from '../kube/client-node.ts';
import { chartPath, runHelm } from './helm.ts';
import { operatorImageSpec } from './operator-image.ts';

export const CHART_RELEASE = 'pgtls';
export const CHART_NAMESPACE = 'pgtls-system';

export interface ChartInstallOptions {
  kubeconfig: string;
  /** Helm's config, cache and data dirs (under the pgtls home, never the user's). */
  stateDir: string;
  release?: string;
  namespace?: string;
  /** Extra `--set key=value`. */
  set?: string[];
  timeoutMs?: number;
  /** Wait for the Deployment to be ready (default true). */
  wait?: boolean;
}

/** The helm command line (pure). The catalog stays `up`'s (installed on every up, not Helm-owned). */
export function chartInstallArgs(o: ChartInstallOptions): string[] {
  const img = operatorImageSpec();
  const seconds = Math.ceil((o.timeoutMs ?? 300_000) / 1000);
  const set = [`image.repository=${img.repository}`, `image.tag=${img.tag}`, 'catalog.install=false', ...(o.set ?? [])];
  return [
    'upgrade', '--install', o.release ?? CHART_RELEASE, chartPath(),
    '--namespace', o.namespace ?? CHART_NAMESPACE, '--create-namespace',
    '--kubeconfig', o.kubeconfig,
    ...(o.wait === false ? [] : ['--wait']), '--timeout', `${seconds}s`,
    ...set.flatMap((s) => ['--set', s]),
  ];
}

/**
 * Objects a process-mode operator created under the chart's names. Helm
 * refuses to install over objects it does not own: the certificate objects
 * (same spec) are handed to the release with Helm's adoption label and
 * annotations; the webhook configurations are deleted, since a URL
 * registration merged with the chart's Service one would be invalid (Helm
 * recreates them at once and the operator writes their caBundle again).
 */
export async function adoptExisting(kube: Kube, release: string, namespace: string): Promise<string[]> {
  const done: string[] = [];
  const adm = kube.api(k8s.AdmissionregistrationV1Api);
  const owned = (o: k8s.KubernetesObject | undefined) => o?.metadata?.annotations?.['meta.helm.sh/release-name'] === release;
  const orMissing = <T>(p: Promise<T>) => p.catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
  const mutating = await orMissing(adm.readMutatingWebhookConfiguration({ name: 'pgtls-mutators' }));
  if (mutating && !owned(mutating)) {
    await orMissing(adm.deleteMutatingWebhookConfiguration({ name: 'pgtls-mutators' }));
    done.push('deleted MutatingWebhookConfiguration/pgtls-mutators');
  }
  const validating = await orMissing(adm.readValidatingWebhookConfiguration({ name: 'pgtls-validators' }));
  if (validating && !owned(validating)) {
    await orMissing(adm.deleteValidatingWebhookConfiguration({ name: 'pgtls-validators' }));
    done.push('deleted ValidatingWebhookConfiguration/pgtls-validators');
  }
  const refs = [
    ...['pgtls-webhook-selfsigned', 'pgtls-webhook-ca'].map((name) => ({ kind: 'Issuer', name })),
    ...['pgtls-webhook-ca', 'pgtls-webhook-serving'].map((name) => ({ kind: 'Certificate', name })),
  ];
  for (const r of refs) {
    const got = await orMissing(kube.get<k8s.KubernetesObject>('cert-manager.io/v1', r.kind, r.name, namespace));
    if (!got || owned(got)) continue;
    await kube.objects.patch(
      {
        apiVersion: 'cert-manager.io/v1',
        kind: r.kind,
        metadata: {
          name: r.name,
          namespace,
          labels: { 'app.kubernetes.io/managed-by': 'Helm' },
          annotations: { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': namespace },
        },
      },
      undefined,
      undefined,
      'pgtls',
      undefined,
      k8s.PatchStrategy.MergePatch,
    );
    done.push(`adopted ${r.kind}/${r.name}`);
  }
  return done;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server-side dry run the validating webhook refuses once the API server calls it (as the operator checks itself). */
export async function waitWebhookCalled(kube: Kube, namespace: string, timeoutMs: number): Promise<void> {
  const custom = kube.api(k8s.CustomObjectsApi);
  const body = { apiVersion: 'kubedb.com/v1', kind: 'Postgres', metadata: { name: 'pgtls-chart-probe', namespace }, spec: { version: 'pgtls-chart-probe', storageType: 'Ephemeral' } };
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      await custom.createNamespacedCustomObject({ group: 'kubedb.com', version: 'v1', plural: 'postgreses', namespace, body, dryRun: 'All' });
      last = 'the dry run was accepted (webhook not called)';
    } catch (err) {
      const text = String((err as { body?: unknown }).body ?? err);
      if (/spec\.version/.test(text) && !/failed calling webhook/.test(text)) return;
      last = text.slice(0, 300);
    }
    await sleep(500);
  }
  throw new Error(`the API server does not call the operator's webhook through its Service: ${last}`);
}

/** Why the operator pods are not ready, for the error message. */
async function podProblems(kube: Kube, namespace: string): Promise<string> {
  const pods = await kube.api(k8s.CoreV1Api).listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=operator' }).catch(() => undefined);
  if (!pods?.items.length) return 'no operator pods';
  return pods.items
    .map((p) => {
      const w = p.status?.containerStatuses?.[0]?.state?.waiting;
      return `${p.metadata?.name}: ${p.status?.phase}${w ? ` (${w.reason}: ${w.message ?? ''})` : ''}`;
    })
    .join('; ');
}

export async function installOperatorChart(kube: Kube, o: ChartInstallOptions, log: (m: string) => void = () => {}): Promise<void> {
  const ns = o.namespace ?? CHART_NAMESPACE;
  const release = o.release ?? CHART_RELEASE;
  const t0 = Date.now();
  const adopted = await adoptExisting(kube, release, ns);
  if (adopted.length) log(`for the Helm release ${release}: ${adopted.join(', ')}`);
  const r = await runHelm(chartInstallArgs(o), { stateDir: o.stateDir, timeoutMs: (o.timeoutMs ?? 300_000) + 30_000 });
  if (r.code !== 0) throw new Error(`helm upgrade --install ${release} failed: ${(r.stderr || r.stdout).trim()}\noperator pods: ${await podProblems(kube, ns)}`);
  log(`operator chart installed (release ${release} in ${ns}, ${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  await waitWebhookCalled(kube, ns, o.timeoutMs ?? 120_000);
  log('the API server calls the operator webhook through its Service');
}

export const helmStateDir = (home: string) => join(home, 'helm');

/**
 * Puts the operator image where the local node finds it, as `kind load`
 * would: the node agent runs images from the image store (built there by
 * content digest, so an unchanged operator is not built twice); the kubelet
 * runtime gets it imported into containerd from its OCI archive.
 */
export async function loadOperatorImage(home: HomeLayout, cfg: ClusterConfig, log: (m: string) => void): Promise<string> {
  const { buildOperatorArchive, buildOperatorImage } = await import('./operator-archive.ts');
  const say = (l: string) => log(`[operator image] ${l}`);
  if (cfg.runtime !== 'kubelet') {
    const img = await buildOperatorImage({ log: say });
    log(`operator image ${img.ref} (${img.digest.slice(0, 12)}) in the image store in ${img.seconds}s`);
    return img.ref;
  }
  const { kubeletNodeLayout } = await import('../local/kubelet/layout.ts');
  const { ctrFor, importNamedArchive } = await import('../local/kubelet/images.ts');
  const archive = join(home.data, 'operator-image.tar');
  const r = await buildOperatorArchive(archive, { log: say });
  log(`operator image ${r.ref} imported into containerd: ${importNamedArchive(ctrFor(kubeletNodeLayout(home, cfg).containerdSock), r.archive)}`);
  return r.ref;
}
