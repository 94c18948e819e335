// PostgreSQL: how it takes a TLS change, its config rendering and its pod paths.
export { postgresEngine } from './engine.ts';
export * from './config.ts';
export * from './hba.ts';
export * from './paths.ts';
export * from './ident.ts';
