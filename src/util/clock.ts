// Time as a dependency: reconcilers, the rollout and leader election read the
// time and wait through a Clock, so unit tests drive them with a fake one
// (test/helpers/fake-clock.ts) instead of sleeping.

export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** RFC 3339 with microseconds, as Kubernetes writes MicroTime (Lease renewTime, Event eventTime). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
