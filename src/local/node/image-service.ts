// What the node needs from images: a root filesystem and the OCI config a
// runtime reads (User, Env, WorkingDir, Entrypoint, Cmd). Where images come
// from is behind this interface; pull policy is decided here, as the
// kubelet's image manager does.
import type { V1Container } from '@kubernetes/client-node';
import type { Clock } from './clock.ts';
import { imageFailureState, type ContainerFacts } from './pod-status.ts';

export interface ImageConfig {
  User?: string;
  Env?: string[];
  WorkingDir?: string;
  Entrypoint?: string[];
  Cmd?: string[];
}

export interface NodeImage {
  /** The reference as written in the pod spec. */
  ref: string;
  /** The image's root filesystem; undefined for a host-binary image (the root is assembled from the host's system directories). */
  rootfs?: string;
  /** Host directories a host-binary image binds at the same path. */
  extraRoots?: string[];
  config: ImageConfig;
  digest: string;
}

/** The image cannot be had: the message lists the images this node knows. */
export class ImagePullError extends Error {
  constructor(
    message: string,
    /** No image of this name exists (rather than: it could not be built). */
    readonly unknownRef = false,
  ) {
    super(message);
  }
}

export interface ImageService {
  /** The image when it is on this node already, without building or fetching it. */
  present(ref: string): Promise<NodeImage | undefined>;
  /** Builds or fetches the image (may take minutes); throws ImagePullError. */
  pull(ref: string): Promise<NodeImage>;
}

export type ImageOutcome =
  | { ok: true; image: NodeImage }
  | { ok: false; reason: 'ErrImagePull' | 'ErrImageNeverPull'; message: string };

/** The kubelet's default pull policy: Always for `:latest` or no tag, else IfNotPresent. */
export function pullPolicy(c: V1Container): string {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const ref = (c.image ?? '').split('@')[0]!;
  const tag = ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref.slice(ref.lastIndexOf(':') + 1) : '';
  return !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/**
 * Gets a container's image per its pull policy. `Always` means "make sure it
 * is current": here images are built from a recipe, so a present image is
 * current and Always behaves as IfNotPresent.
 */
export async function ensureContainerImage(images: ImageService, c: V1Container): Promise<ImageOutcome> {
  const ref = c.image ?? '';
  const policy = pullPolicy(c);
  try {
    const have = await images.present(ref);
    if (have) return { ok: true, image: have };
    if (policy === 'Never') return { ok: false, reason: 'ErrImageNeverPull', message: `Container image "${ref}" is not present with pull policy of Never` };
    return { ok: true, image: await images.pull(ref) };
  } catch (err) {
    if (err instanceof ImagePullError) return { ok: false, reason: 'ErrImagePull', message: err.message };
    throw new Error(`image ${ref}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** An image config's Env as a map (later entries win, as in a runtime). */
export function imageEnv(config: ImageConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of config.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/**
 * A pod's images, pulled (built) in the background so that a long build
 * never blocks the pod's syncs; a failed pull is retried after 5 s
 * (ErrImagePull), then 10 s (ImagePullBackOff).
 */
export class PodImages {
  private readonly pulls = new Set<string>();
  private readonly have = new Map<string, NodeImage>();
  private readonly retryAt = new Map<string, number>();

  constructor(
    private readonly images: ImageService,
    private readonly clock: Clock,
    private readonly kick: (delayMs: number) => void,
  ) {}

  /** The container's image, or undefined while it is pulled or waits for a retry (the container's state says why). */
  get(c: ContainerFacts): NodeImage | undefined {
    const ref = c.spec.image ?? '';
    const have = this.have.get(ref);
    if (have) return have;
    if (this.pulls.has(ref) || this.clock.now() < (this.retryAt.get(ref) ?? 0)) return undefined;
    const failed = (reason: 'ErrImagePull' | 'ErrImageNeverPull', message: string) => {
      c.state = imageFailureState(c.state, reason, message);
      const wait = c.state.kind === 'waiting' && c.state.reason === 'ImagePullBackOff' ? 10_000 : 5000;
      this.retryAt.set(ref, this.clock.now() + wait);
      this.kick(wait);
    };
    this.pulls.add(ref);
    void ensureContainerImage(this.images, c.spec).then(
      (r) => {
        this.pulls.delete(ref);
        if (!r.ok) return failed(r.reason, r.message);
        this.have.set(ref, r.image);
        this.kick(0);
      },
      (err) => {
        this.pulls.delete(ref);
        failed('ErrImagePull', err instanceof Error ? err.message : String(err));
      },
    );
    return undefined;
  }
}
