// Services on loopback, for the loopback pod network: each Service port with
// a ClusterIP is served on its 127.S.c.d stand-in by the agent's in-process
// proxy (src/local/node/network.ts), to a ready pod behind it. With pods in
// network namespaces, Services are the gateway's job (src/local/net) instead.
import type { V1Service } from '@kubernetes/client-node';
import { selects, ServiceProxy, serviceVip, targetPort, type AddressPlan } from './network.ts';
import type { PodRunner } from './pod-runner.ts';

export class LoopbackServices {
  private readonly proxy: ServiceProxy;

  constructor(
    private readonly plan: AddressPlan,
    log: (msg: string) => void,
  ) {
    this.proxy = new ServiceProxy(log);
  }

  /** Ready pods behind a Service port, as host:port. */
  static endpoints(svc: V1Service, port: { port: number; targetPort?: unknown }, runners: Iterable<PodRunner>): { host: string; port: number }[] {
    const out: { host: string; port: number }[] = [];
    for (const r of runners) {
      if (r.done() || !r.ip || !r.isReady() || r.pod.metadata?.deletionTimestamp || !selects(svc, r.pod)) continue;
      const tp = targetPort(port as never, r.pod);
      if (tp !== undefined) out.push({ host: r.ip, port: tp });
    }
    return out;
  }

  /** Serves what the Services want now; endpoints are looked up per connection. */
  sync(services: () => V1Service[], current: (svc: V1Service) => V1Service, runners: () => Iterable<PodRunner>): void {
    const wanted = new Map<string, { host: string; port: number; endpoints: () => { host: string; port: number }[] }>();
    for (const svc of services()) {
      const vip = serviceVip(svc.spec?.clusterIP, this.plan.serviceOctet);
      if (!vip || !svc.spec?.selector) continue;
      for (const p of svc.spec.ports ?? []) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        const key = `${svc.metadata!.namespace}/${svc.metadata!.name}:${p.port}@${vip}`;
        wanted.set(key, { host: vip, port: p.port, endpoints: () => LoopbackServices.endpoints(current(svc), p, runners()) });
      }
    }
    this.proxy.sync(wanted);
  }

  close(): void {
    this.proxy.close();
  }
}
