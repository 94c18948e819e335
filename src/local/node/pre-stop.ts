// A container's preStop hook, as the kubelet runs it when a pod is deleted:
// before SIGTERM, inside the pod's grace period. This is what lets a pod leave
// its Services first (it is not Ready once it is terminating) and stop only
// after clients have stopped being sent to it.
import type { V1Container } from '@kubernetes/client-node';

export type PreStopAction =
  | { container: string; kind: 'sleep'; ms: number }
  | { container: string; kind: 'exec'; argv: string[]; timeoutMs: number }
  | { container: string; kind: 'unsupported'; detail: string };

/** The hooks to run, each bounded by the grace period (the kubelet does the same). */
export function preStopActions(containers: V1Container[], graceSeconds: number): PreStopAction[] {
  const graceMs = Math.max(0, graceSeconds) * 1000;
  const out: PreStopAction[] = [];
  for (const c of containers) {
    const h = c.lifecycle?.preStop;
    if (!h) continue;
    if (h.sleep) out.push({ container: c.name, kind: 'sleep', ms: Math.min(Math.max(0, Number(h.sleep.seconds)) * 1000, graceMs) });
    else if (h.exec?.command?.length) out.push({ container: c.name, kind: 'exec', argv: h.exec.command, timeoutMs: graceMs });
    else out.push({ container: c.name, kind: 'unsupported', detail: h.httpGet ? 'httpGet preStop hooks are not run by this node' : 'an empty preStop hook' });
  }
  return out;
}

/**
 * Seconds left for SIGTERM → SIGKILL once the hooks took `elapsedMs`: the rest
 * of the grace period, and never less than the kubelet's 2 s minimum.
 */
export function graceAfterHooks(graceSeconds: number, elapsedMs: number): number {
  return Math.max(2, Math.ceil((graceSeconds * 1000 - elapsedMs) / 1000));
}
