// Moved to src/local/net/resolve.ts (the network's address resolution lives with the gateway).
export * from '../net/resolve.ts';
