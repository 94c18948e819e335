// Time for the node agent, injected so that back-off, probes and heartbeats
// can be driven by a fake clock in unit tests.
export type Timer = ReturnType<typeof setTimeout>;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer | undefined): void;
  setInterval(fn: () => void, ms: number): Timer;
  clearInterval(t: Timer | undefined): void;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (t) => clearInterval(t),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** RFC 3339 with whole seconds, as the API server stores pod timestamps. */
export const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
