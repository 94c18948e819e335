// The Secrets and ConfigMaps this node's pods use, each watched by name (the
// Node authorizer lets a node read only what its pods reference, one object
// at a time), shared between pods, dropped when the last pod using it goes.
import type { V1ConfigMap, V1Pod, V1Secret } from '@kubernetes/client-node';
import { Reflector } from './reflector.ts';
import type { Rest } from './rest.ts';
import { VolumeError } from './volumes.ts';

export type ObjectKind = 'secrets' | 'configmaps';

const keyOf = (kind: ObjectKind, ns: string, name: string) => `${kind}/${ns}/${name}`;

/** Every Secret/ConfigMap a pod references, through volumes, env and envFrom (pure). */
export function referencedObjects(pod: V1Pod): Set<string> {
  const ns = pod.metadata!.namespace!;
  const refs = new Set<string>();
  const spec = pod.spec!;
  const add = (kind: ObjectKind, name: string | undefined) => name && refs.add(keyOf(kind, ns, name));
  for (const v of spec.volumes ?? []) {
    add('secrets', v.secret?.secretName);
    add('configmaps', v.configMap?.name);
    for (const s of v.projected?.sources ?? []) {
      add('secrets', s.secret?.name);
      add('configmaps', s.configMap?.name);
    }
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    for (const e of c.env ?? []) {
      add('secrets', e.valueFrom?.secretKeyRef?.name);
      add('configmaps', e.valueFrom?.configMapKeyRef?.name);
    }
    for (const f of c.envFrom ?? []) {
      add('secrets', f.secretRef?.name);
      add('configmaps', f.configMapRef?.name);
    }
  }
  return refs;
}

export class ObjectWatches {
  private readonly watches = new Map<string, { refl: Reflector<V1Secret | V1ConfigMap>; users: Set<string> }>();

  constructor(
    private readonly rest: Rest,
    /** An object changed: these pods (by uid) use it. */
    private readonly onChange: (users: Set<string>) => void,
  ) {}

  /** Watches what the pod references (idempotent). */
  track(uid: string, pod: V1Pod): void {
    for (const key of referencedObjects(pod)) {
      let w = this.watches.get(key);
      if (!w) {
        const [kind, ns, name] = key.split('/') as [string, string, string];
        const refl = new Reflector<V1Secret | V1ConfigMap>(this.rest, `/api/v1/namespaces/${ns}/${kind}`, `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`);
        const entry = { refl, users: new Set<string>() };
        refl.on(() => this.onChange(entry.users));
        refl.start();
        w = entry;
        this.watches.set(key, w);
      }
      w.users.add(uid);
    }
  }

  release(uid: string): void {
    for (const [key, w] of this.watches) {
      w.users.delete(uid);
      if (w.users.size === 0) {
        w.refl.stop();
        this.watches.delete(key);
      }
    }
  }

  /** The object's data as bytes; undefined if it does not exist; throws VolumeError until its watch has listed. */
  decoded(kind: ObjectKind, ns: string, name: string): Record<string, Buffer> | undefined {
    const w = this.watches.get(keyOf(kind, ns, name));
    if (!w) return undefined;
    const o = w.refl.get(ns, name);
    if (!o) {
      if (w.refl.isSynced()) return undefined;
      throw new VolumeError(`waiting for ${kind.slice(0, -1)} ${ns}/${name}`);
    }
    const out: Record<string, Buffer> = {};
    if (kind === 'secrets') for (const [k, v] of Object.entries((o as V1Secret).data ?? {})) out[k] = Buffer.from(v, 'base64');
    else {
      for (const [k, v] of Object.entries((o as V1ConfigMap).data ?? {})) out[k] = Buffer.from(v, 'utf8');
      for (const [k, v] of Object.entries((o as V1ConfigMap).binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
    }
    return out;
  }

  strings(kind: ObjectKind, ns: string, name: string): Record<string, string> | undefined {
    const d = this.decoded(kind, ns, name);
    return d ? Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.toString('utf8')])) : undefined;
  }

  stop(): void {
    for (const w of this.watches.values()) w.refl.stop();
    this.watches.clear();
  }
}
