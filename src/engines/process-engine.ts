// The process-level engine: a server run as a local process (integration tests, bench).
// The provisioner renders config with it; the ops-manager asks it how to apply a TLS change,
// runs that against a pod's address, and gets back proof from the wire.
// A fourth engine is one new folder exporting an Engine, plus one line in ./index.ts.
import type { ApplyTlsResult } from './shared/apply.ts';
import type { Expected, ProbeOptions, ProbeResult, ProbeTarget, VerifyOptions } from './shared/probe.ts';
import type { ServerTarget } from './shared/target.ts';
import type { ApplyDecision, RenderedConfig, TlsState } from './types.ts';

export type EngineKind = 'Postgres' | 'PgBouncer' | 'Pgpool';

export interface ApplyTlsOptions {
  /** What must be served afterwards: the new leaf certificate, or plain text. */
  expected: Expected;
  /** From tlsApplyMode; default: the engine's usual path (reload, or restart for Pgpool). */
  decision?: ApplyDecision;
  /** Restarts the server (the caller owns the process or the pod). Required when the decision is restart. */
  restart?: () => Promise<void>;
  /** Ask the server whether it accepts the new config before acting, where the engine can. Default true. */
  precheck?: boolean;
  verify?: VerifyOptions;
}

export interface Engine<Input = never> {
  readonly kind: EngineKind;
  /** Pure: the files of the engine's config directory (relative path → content). */
  renderConfig(input: Input): RenderedConfig;
  /** How a running server takes the change from `from` to `to`: decided from measured engine behaviour. */
  tlsApplyMode(from: TlsState, to: TlsState): ApplyDecision;
  /** Re-read config files (SQL or signal); resolves when the command was accepted, NOT when it took effect. */
  reload(target: ServerTarget): Promise<void>;
  /** One pgwire TLS probe. */
  probe(target: ProbeTarget, opts?: ProbeOptions): Promise<ProbeResult>;
  /** Reload or restart, then verify from the wire. Throws TlsApplyError when the server does not serve `expected`. */
  applyTls(target: ServerTarget, o: ApplyTlsOptions): Promise<ApplyTlsResult>;
}

// Inputs differ per engine, so the registry stores engines with their input type erased;
// callers that render narrow it with the engine module's own Input type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEngine = Engine<any>;

const registry = new Map<EngineKind, AnyEngine>();

export function registerEngine(e: AnyEngine): void {
  if (registry.has(e.kind)) throw new Error(`engine ${e.kind} registered twice`);
  registry.set(e.kind, e);
}

export function getEngine(kind: EngineKind): AnyEngine {
  const e = registry.get(kind);
  if (!e) throw new Error(`no engine for ${kind}; known: ${[...registry.keys()].join(', ')}`);
  return e;
}

export function engineKinds(): EngineKind[] {
  return [...registry.keys()];
}
