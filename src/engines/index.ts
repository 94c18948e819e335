// The engines: what pgtls knows about each server kind, with no Kubernetes in
// it. Each kind's module (src/kinds/) names its engine; there is no registry.
export { type Engine, type EngineKind, type Expect, expectFor } from './engine.ts';
export { postgresEngine } from './postgres/engine.ts';
export { pgbouncerEngine } from './pgbouncer/engine.ts';
export { pgpoolEngine } from './pgpool/engine.ts';
export * from './types.ts';
export { probeTls, verifyServed, ServedMismatchError, type ProbeResult, type ServedCert, type Expected } from './shared/probe.ts';
