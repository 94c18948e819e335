// A clock the test moves by hand: timers fire in order when time passes them.
import type { Clock, Timer } from '../../../src/local/node/clock.ts';

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void; every?: number }>();
  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id as unknown as Timer;
  }
  setInterval(fn: () => void, ms: number): Timer {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn, every: ms });
    return id as unknown as Timer;
  }
  clearTimeout(t: Timer | undefined): void {
    this.timers.delete(t as unknown as number);
  }
  clearInterval(t: Timer | undefined): void {
    this.timers.delete(t as unknown as number);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((r) => this.setTimeout(r, ms));
  }
  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      const [id, x] = next;
      this.t = x.at;
      if (x.every) x.at += x.every;
      else this.timers.delete(id);
      x.fn();
    }
    this.t = end;
  }
  pending(): number {
    return this.timers.size;
  }
}
