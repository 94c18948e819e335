// The process-level engine, for integration tests and bench: a server run as
// a local process, reloaded over SQL or by signal, or restarted by the test,
// then verified from the wire. How it decides reload or restart is the
// operator's engine (src/engines/<kind>/engine.ts); only the acting is here.
import type { ApplyTlsResult } from './apply.ts';
import type { Expected, ProbeOptions, ProbeResult, ProbeTarget, VerifyOptions } from '../../../../../src/engines/shared/probe.ts';
import type { ServerTarget } from './target.ts';
import type { ApplyDecision, RenderedConfig, TlsState } from '../../../../../src/engines/types.ts';

import type { EngineKind } from '../../../../../src/engines/engine.ts';

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
