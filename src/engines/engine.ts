// How a server kind takes a TLS change, as the operator drives it in a pod:
// which changes need a reload or a restart (decided from measured engine
// behaviour), the command that makes it re-read its files, and what the wire
// must show afterwards. The ops-manager's rollout consumes only this; no
// Kubernetes types here. One object per engine, in ./<kind>/engine.ts.
import type { ApplyDecision, TlsState } from './types.ts';

export type EngineKind = 'Postgres' | 'PgBouncer' | 'Pgpool';

/** What a pod must serve: this certificate, verified against this CA, or no TLS at all. */
export type Expect = { certPem: string; ca: string } | 'no-ssl';

export interface Engine {
  readonly kind: EngineKind;
  /** The container the server runs in (KubeDB's pod layout). */
  readonly container: string;
  /** How a running server takes the change from `from` to `to`. */
  applyMode(from: TlsState, to: TlsState): ApplyDecision;
  /**
   * How it takes a ReconfigureTLS change (new certificate, CA, TLS on or off):
   * 'reload' in place, or 'restart' pod by pod. Agrees with applyMode for a
   * certificate change (tested).
   */
  readonly tlsChange: 'reload' | 'restart';
  /** Run in the container to make the server re-read its files (the reload path). */
  readonly reloadCommand: readonly string[];
}

/** What the wire must show once a staged state is served: its server certificate, or plain text without TLS. */
export function expectFor(staged: { 'server.crt': string; 'ca.crt': string } | null): Expect {
  return staged ? { certPem: staged['server.crt'], ca: staged['ca.crt'] } : 'no-ssl';
}
