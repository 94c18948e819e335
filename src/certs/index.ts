export * from './pem.ts';
export * from './inspect.ts';
export * from './bundle.ts';
export * from './issue.ts';
