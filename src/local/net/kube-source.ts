// Feeds the gateway from the API server: list-then-watch caches of Services,
// Pods and EndpointSlices (the gateway's identity may read those, nothing
// more); every change, debounced, hands the whole state to Gateway.update,
// which is level-triggered.
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { Reflector } from '../node/reflector.ts';
import type { Rest } from '../node/rest.ts';
import type { Gateway } from './gateway.ts';

export class KubeSource {
  private readonly services: Reflector<V1Service>;
  private readonly pods: Reflector<V1Pod>;
  private readonly slices: Reflector<V1EndpointSlice>;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly rest: Rest,
    private readonly gateway: Gateway,
    log: (msg: string) => void,
  ) {
    this.services = new Reflector<V1Service>(rest, '/api/v1/services', '', log);
    this.pods = new Reflector<V1Pod>(rest, '/api/v1/pods', '', log);
    this.slices = new Reflector<V1EndpointSlice>(rest, '/apis/discovery.k8s.io/v1/endpointslices', '', log);
  }

  async start(): Promise<void> {
    this.services.on(() => this.changed()).start();
    this.pods.on(() => this.changed()).start();
    this.slices.on(() => this.changed()).start();
    await Promise.all([this.services.waitSynced(), this.pods.waitSynced(), this.slices.waitSynced()]);
    this.push();
  }

  private changed(): void {
    // 20 ms: a burst of pod status updates becomes one sync, a new Service is served almost at once.
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.push();
    }, 20);
  }

  private push(): void {
    if (this.stopped) return;
    const synced = this.services.isSynced() && this.pods.isSynced() && this.slices.isSynced();
    this.gateway.update({ services: this.services.list(), pods: this.pods.list(), slices: this.slices.list() }, synced);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.services.stop();
    this.pods.stop();
    this.slices.stop();
    this.rest.close();
  }
}
