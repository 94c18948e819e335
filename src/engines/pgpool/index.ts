// Pgpool-II: how it takes a TLS change, its config rendering and its pod paths.
export { pgpoolEngine, pgpoolApplyMode } from './engine.ts';
export * from './config.ts';
export * from './paths.ts';
export * from './tunables.ts';
