// client-node 1.4 builds a new https.Agent for every API call
// (KubeConfig.applySecurityAuthentication): a TLS handshake per request and no
// keep-alive. With 100 databases the operator's C heap held 165 MiB next to a
// 60 MiB JS heap; this churn is the likely cause (not yet measured after).
// Here one keep-alive agent per TLS identity is reused; a client certificate
// that changes (rotated on disk) gets a new one.
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import type { k8s } from './client.ts';

/** Free sockets close after this much idleness, well before the API server's own 90 s idle close. */
export const IDLE_SOCKET_MS = 30_000;
const MAX_IDENTITIES = 4;

type AuthContext = Parameters<k8s.KubeConfig['applySecurityAuthentication']>[0];

/** Makes every request context that kc authenticates use a shared keep-alive agent (idempotent). */
export function shareAgents(kc: k8s.KubeConfig): k8s.KubeConfig {
  const marked = kc as k8s.KubeConfig & { pgtlsSharedAgents?: true };
  if (marked.pgtlsSharedAgents) return kc;
  marked.pgtlsSharedAgents = true;
  const agents = new Map<string, Agent>();
  const apply = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (ctx: AuthContext) => {
    await apply(ctx);
    const fresh = ctx.getAgent();
    // A proxy agent or plain HTTP is left as client-node made it.
    if (!(fresh instanceof Agent) || fresh.constructor !== Agent) return;
    const o = fresh.options;
    const key = createHash('sha256').update(JSON.stringify([o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername])).digest('hex');
    let agent = agents.get(key);
    if (!agent) {
      for (const [k, old] of agents) {
        if (agents.size < MAX_IDENTITIES) break;
        old.destroy();
        agents.delete(k);
      }
      agent = new Agent({ ...o, keepAlive: true, timeout: IDLE_SOCKET_MS });
      agents.set(key, agent);
    }
    ctx.setAgent(agent);
  };
  return kc;
}
