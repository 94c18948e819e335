// PgBouncer: how it takes a TLS change, its config rendering and its pod paths.
export { pgbouncerEngine } from './engine.ts';
export * from './ini.ts';
export * from './paths.ts';
