// One informer per resource and selector for all the controllers of a term,
// as controller-runtime's shared cache: the provisioner and the ops-manager of
// a kind both watch its ops requests and Certificates, and two caches of the
// same objects were twice the memory and twice the watch traffic.
import type { KubeClient, KubeObject, ResourceRef } from './api.ts';
import { Informer } from './informer.ts';

export class SharedInformers {
  private readonly byRef = new Map<string, Informer<KubeObject>>();

  constructor(private readonly kube: KubeClient) {}

  /** The informer for ref, made on first use; the same one for the same resource, namespace and selector. */
  get<T extends KubeObject>(ref: ResourceRef): Informer<T> {
    const key = JSON.stringify([ref.apiVersion, ref.kind, ref.plural, ref.namespace ?? '', ref.labelSelector ?? '']);
    let inf = this.byRef.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>(this.kube, ref);
      this.byRef.set(key, inf);
    }
    return inf as unknown as Informer<T>;
  }

  /** How many distinct informers were made (tests, stats). */
  get size(): number {
    return this.byRef.size;
  }
}
