// The Node object and its Lease, kept current as a kubelet keeps them:
// registration (create or patch), a Lease renewed every 10 s, the Node's
// status refreshed every 30 s.
import type { V1Node } from '@kubernetes/client-node';
import type { Clock, Timer } from './clock.ts';
import { leaseObject, microTime, nodeObject, nodeStatus, type NodeFacts } from './node-object.ts';
import type { Rest } from './rest.ts';

export const LEASE_SECONDS = 40;
const RENEW_MS = 10_000;
const STATUS_MS = 30_000;

export class NodeHeartbeat {
  private nodeUid = '';
  private lastStatusAt = 0;
  private timer?: Timer;

  constructor(
    private readonly rest: Rest,
    private readonly facts: () => NodeFacts,
    private readonly clock: Clock,
    private readonly log: (msg: string) => void,
  ) {}

  private get name(): string {
    return this.facts().name;
  }

  /** Creates or updates the Node, retrying for up to 30 s while the API server settles. */
  async register(): Promise<void> {
    const node = nodeObject(this.facts());
    for (let i = 0; ; i++) {
      try {
        const got = await this.rest.find<V1Node>(`/api/v1/nodes/${this.name}`);
        const saved = got
          ? await this.rest.mergePatch<V1Node>(`/api/v1/nodes/${this.name}`, { metadata: { labels: node.metadata!.labels, annotations: node.metadata!.annotations } })
          : await this.rest.request<V1Node>('POST', '/api/v1/nodes', node);
        this.nodeUid = saved.metadata!.uid!;
        await this.postStatus();
        return;
      } catch (err) {
        if (i >= 30) throw new Error(`registering node ${this.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        this.log(`registering node: ${String(err).slice(0, 200)}; retrying`);
        await this.clock.sleep(1000);
      }
    }
  }

  private async postStatus(): Promise<void> {
    await this.rest.strategicPatch(`/api/v1/nodes/${this.name}/status`, { status: nodeStatus(this.facts(), new Date(this.clock.now())) });
    this.lastStatusAt = this.clock.now();
  }

  /** Renews the Lease (creating it if missing) and, every 30 s, the Node's status. */
  async beat(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.name}`;
    const now = new Date(this.clock.now());
    const lease = await this.rest.find(path);
    if (!lease) await this.rest.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', leaseObject(this.name, this.nodeUid, LEASE_SECONDS, now));
    else await this.rest.mergePatch(path, { spec: { holderIdentity: this.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime(now) } });
    if (this.clock.now() - this.lastStatusAt > STATUS_MS) await this.postStatus();
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = this.clock.setInterval(() => void this.beat().catch((e) => this.log(`heartbeat: ${e instanceof Error ? e.message : String(e)}`)), RENEW_MS);
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
  }
}
