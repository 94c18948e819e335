// The node's images from the image builder (src/images): root filesystems
// built from Debian's packages, with the OCI config a runtime reads. An image
// that is not built yet is built on its first pull (minutes, in the background
// of the pod); an unknown reference or a failed build is ErrImagePull.
import { BuildError, ensureImage, ImageNotBuiltError, InvalidRefError, UnknownImageError, type BuiltImage } from '../../images/index.ts';
import { storeLayout } from '../../images/store.ts';
import { ImagePullError, type ImageService, type NodeImage } from './image-service.ts';

export interface BuiltImagesOptions {
  /** The image store (default: $PGTLS_IMAGES_DIR, else ${XDG_CACHE_HOME:-~/.cache}/pgtls/images). */
  imagesDir?: string;
  /** Debian mirror for builds (default: the builder's). */
  mirror?: string;
  log?: (msg: string) => void;
}

function nodeImage(ref: string, b: BuiltImage): NodeImage {
  const c = b.config.config;
  return {
    ref,
    rootfs: b.rootfs,
    digest: b.digest,
    config: { User: c.User, Env: c.Env, WorkingDir: c.WorkingDir, ...(c.Entrypoint ? { Entrypoint: c.Entrypoint } : {}), ...(c.Cmd ? { Cmd: c.Cmd } : {}) },
  };
}

const unknown = (e: unknown) => e instanceof UnknownImageError || e instanceof InvalidRefError;

export function builtImages(o: BuiltImagesOptions = {}): ImageService {
  const layout = o.imagesDir ? storeLayout(o.imagesDir) : undefined;
  const base = { ...(layout ? { layout } : {}), ...(o.mirror ? { mirror: o.mirror } : {}) };
  return {
    present: async (ref) => {
      try {
        return nodeImage(ref, await ensureImage(ref, { ...base, build: false }));
      } catch (e) {
        if (e instanceof ImageNotBuiltError) return undefined;
        if (unknown(e)) throw new ImagePullError((e as Error).message, true);
        throw e;
      }
    },
    pull: async (ref) => {
      o.log?.(`building image ${ref}`);
      try {
        const b = await ensureImage(ref, { ...base, log: (line) => o.log?.(`image ${ref}: ${line}`) });
        o.log?.(`image ${ref} built (${b.digest.slice(0, 19)})`);
        return nodeImage(ref, b);
      } catch (e) {
        if (unknown(e)) throw new ImagePullError((e as Error).message, true);
        if (e instanceof BuildError || e instanceof ImageNotBuiltError) throw new ImagePullError(`building ${ref}: ${(e as Error).message}`);
        throw e;
      }
    },
  };
}

/**
 * Images from a primary service, and for references it does not know, from a
 * fallback (the host-binary images, for pod specs that still name public
 * images the node has no root filesystem for). A failed build is not
 * "unknown": it never falls back.
 */
export function withFallback(primary: ImageService, fallback: ImageService): ImageService {
  const known = async <T>(fn: () => Promise<T>, other: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ImagePullError) || !e.unknownRef) throw e;
      try {
        return await other();
      } catch (e2) {
        if (e2 instanceof ImagePullError) throw new ImagePullError(`${e.message} Host programs: ${e2.message.replace(/^.*Known images: /, '')}`, true);
        throw e2;
      }
    }
  };
  return {
    present: (ref) => known(() => primary.present(ref), () => fallback.present(ref)),
    pull: (ref) => known(() => primary.pull(ref), () => fallback.pull(ref)),
  };
}
