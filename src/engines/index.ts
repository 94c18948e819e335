// Registers the built-in engines. A fourth engine: one folder plus one line here.
import { registerEngine, engineKinds } from './process-engine.ts';
import { postgresProcessEngine, postgresEngine } from './postgres/index.ts';
import { pgbouncerProcessEngine, pgbouncerEngine } from './pgbouncer/index.ts';
import { pgpoolProcessEngine, pgpoolEngine } from './pgpool/index.ts';

if (engineKinds().length === 0) {
  registerEngine(postgresProcessEngine);
  registerEngine(pgbouncerProcessEngine);
  registerEngine(pgpoolProcessEngine);
}

export { getEngine, engineKinds, type Engine, type EngineKind, type ApplyTlsOptions } from './process-engine.ts';
export { postgresEngine, pgbouncerEngine, pgpoolEngine, postgresProcessEngine, pgbouncerProcessEngine, pgpoolProcessEngine };
export * from './types.ts';
export { probeTls, verifyServed, ServedMismatchError, type ProbeResult, type ServedCert, type Expected } from './shared/probe.ts';
export { installFiles, restoreFiles, configFileSpecs, tlsFileSpecs, type FileSpec, type TlsMaterial } from './shared/files.ts';
export { applyAndVerify, restoreAndVerify, checkPair, TlsApplyError, type ApplyTlsResult } from './shared/apply.ts';
export type { ServerTarget, SqlEndpoint } from './shared/target.ts';
