// Where a pod's PersistentVolumeClaim lives on this node: the bound PV's
// hostPath (or local) directory, looked up once the claim is Bound.
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Clock } from './clock.ts';
import type { Rest } from './rest.ts';
import { VolumeError } from './volumes.ts';

export class PvcPaths {
  private readonly paths = new Map<string, string>();
  private readonly pending = new Set<string>();
  private stopped = false;

  constructor(
    private readonly rest: Rest,
    private readonly clock: Clock,
    private readonly log: (msg: string) => void,
    /** Called when a claim's directory became known. */
    private readonly found: () => void,
  ) {}

  /** The claim's directory; throws VolumeError (and starts looking) while it is not bound. */
  path(ns: string, claim: string): string {
    const key = `${ns}/${claim}`;
    const p = this.paths.get(key);
    if (p) return p;
    if (!this.pending.has(key)) {
      this.pending.add(key);
      void this.lookup(ns, claim, key).finally(() => this.pending.delete(key));
    }
    throw new VolumeError(`persistentvolumeclaim "${claim}" is not bound yet`);
  }

  private async lookup(ns: string, claim: string, key: string): Promise<void> {
    try {
      for (let i = 0; i < 600 && !this.stopped; i++) {
        const pvc = await this.rest.find<V1PersistentVolumeClaim>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim}`);
        const pvName = pvc?.spec?.volumeName;
        if (pvc?.status?.phase === 'Bound' && pvName) {
          const pv = await this.rest.get<V1PersistentVolume>(`/api/v1/persistentvolumes/${pvName}`);
          const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
          if (path) {
            this.paths.set(key, path);
            this.found();
            return;
          }
        }
        await this.clock.sleep(1000);
      }
    } catch (err) {
      this.log(`pvc ${key}: looking up its volume: ${String(err).slice(0, 200)}`);
    }
  }

  stop(): void {
    this.stopped = true;
  }
}
