// serviceAccountToken projections, as the kubelet's token manager serves
// them: a TokenRequest bound to the pod (the Node authorizer lets a node ask
// for the service accounts of its own pods), cached, and fetched again when
// 80 % of its lifetime has passed, so in-cluster clients always read a valid
// token from /var/run/secrets/kubernetes.io/serviceaccount/token.
import type { V1Pod, V1ServiceAccountTokenProjection } from '@kubernetes/client-node';
import type { Clock, Timer } from './clock.ts';
import type { Rest } from './rest.ts';
import { VolumeError } from './volumes.ts';

interface Entry {
  token?: string;
  refresh?: Timer;
  pending?: boolean;
  error?: string;
}

/** The kubelet asks for at least 10 minutes and defaults to an hour. */
const expirationOf = (s: V1ServiceAccountTokenProjection) => Math.max(s.expirationSeconds ?? 3600, 600);

export class ServiceAccountTokens {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly rest: Rest,
    private readonly clock: Clock,
    private readonly log: (msg: string) => void,
    /** A pod's token changed (first fetched or renewed): its projected volumes should be written. */
    private readonly renewed: (podUid: string) => void,
  ) {}

  private key(pod: V1Pod, s: V1ServiceAccountTokenProjection): string {
    return `${pod.metadata!.uid}/${s.audience ?? ''}/${expirationOf(s)}`;
  }

  /** The current token; throws VolumeError (and asks for one) while there is none yet. */
  token(pod: V1Pod, s: V1ServiceAccountTokenProjection): Buffer {
    const key = this.key(pod, s);
    let e = this.cache.get(key);
    if (!e) {
      e = {};
      this.cache.set(key, e);
      this.fetch(pod, s, key, e);
    }
    if (e.token) return Buffer.from(e.token);
    throw new VolumeError(`waiting for a token of service account ${pod.spec?.serviceAccountName ?? 'default'}${e.error ? `: ${e.error}` : ''}`);
  }

  private fetch(pod: V1Pod, s: V1ServiceAccountTokenProjection, key: string, e: Entry): void {
    if (e.pending) return;
    e.pending = true;
    const ns = pod.metadata!.namespace!;
    const sa = pod.spec?.serviceAccountName ?? 'default';
    const seconds = expirationOf(s);
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: s.audience ? [s.audience] : [], expirationSeconds: seconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid } },
    };
    const started = this.clock.now();
    void this.rest
      .request<{ status?: { token?: string; expirationTimestamp?: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, body)
      .then(
        (r) => {
          if (this.cache.get(key) !== e) return; // released meanwhile
          e.token = r.status?.token;
          e.error = undefined;
          const expires = r.status?.expirationTimestamp ? Date.parse(r.status.expirationTimestamp) : started + seconds * 1000;
          e.refresh = this.clock.setTimeout(() => this.fetch(pod, s, key, e), Math.max(0.8 * (expires - started), 1000));
          this.renewed(pod.metadata!.uid!);
        },
        (err: unknown) => {
          e.error = err instanceof Error ? err.message.slice(0, 200) : String(err);
          this.log(`pod ${ns}/${pod.metadata!.name}: token for service account ${sa}: ${e.error}`);
          if (this.cache.get(key) === e) e.refresh = this.clock.setTimeout(() => this.fetch(pod, s, key, e), e.token ? 10_000 : 2000);
        },
      )
      .finally(() => (e.pending = false));
  }

  release(podUid: string): void {
    for (const [key, e] of this.cache) {
      if (!key.startsWith(`${podUid}/`)) continue;
      this.clock.clearTimeout(e.refresh);
      this.cache.delete(key);
    }
  }

  stop(): void {
    for (const e of this.cache.values()) this.clock.clearTimeout(e.refresh);
    this.cache.clear();
  }
}
