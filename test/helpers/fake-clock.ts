// A clock for unit tests: time moves only when a test advances it or when
// code sleeps (a sleep moves time forward at once and yields to other tasks),
// so retry loops and lease deadlines run in microseconds.
import type { Clock } from '../../src/util/clock.ts';

export class FakeClock implements Clock {
  private t: number;
  /** Total time spent in sleep(), for assertions about waiting. */
  slept = 0;

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }

  async sleep(ms: number): Promise<void> {
    this.t += ms;
    this.slept += ms;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
