// A set of listening sockets kept equal to a wanted list (level-triggered):
// sync() closes what is no longer wanted, opens what is missing and updates
// the data of the rest; an address that cannot be bound yet (taken, or its
// pod not up) is retried on the next sync and logged once per distinct error.
import type { Server, Socket } from 'node:net';

export interface WantedListener<T> {
  key: string;
  data: T;
  open(): Promise<Server>;
}

interface Entry<T> {
  data: T;
  server?: Server;
  opening: boolean;
  lastError?: string;
  open(): Promise<Server>;
}

export class ListenerSet<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private closed = false;

  constructor(
    private readonly what: string,
    private readonly onConnection: (socket: Socket, data: T, key: string) => void,
    private readonly log: (msg: string) => void,
  ) {}

  /** Keys whose listener is open. */
  open(): string[] {
    return [...this.entries].filter(([, e]) => e.server).map(([k]) => k);
  }

  failing(): { key: string; error: string }[] {
    return [...this.entries].filter(([, e]) => !e.server && e.lastError).map(([key, e]) => ({ key, error: e.lastError! }));
  }

  data(key: string): T | undefined {
    return this.entries.get(key)?.data;
  }

  sync(wanted: WantedListener<T>[]): void {
    if (this.closed) return;
    const keep = new Set(wanted.map((w) => w.key));
    for (const [key, e] of this.entries) {
      if (keep.has(key)) continue;
      this.entries.delete(key);
      e.server?.close();
    }
    for (const w of wanted) {
      let e = this.entries.get(w.key);
      if (!e) {
        e = { data: w.data, opening: false, open: w.open };
        this.entries.set(w.key, e);
      }
      e.data = w.data;
      e.open = w.open;
      if (!e.server && !e.opening) this.openEntry(w.key, e);
    }
  }

  private openEntry(key: string, e: Entry<T>): void {
    e.opening = true;
    e.open().then(
      (server) => {
        e.opening = false;
        if (this.closed || this.entries.get(key) !== e) {
          server.close();
          return;
        }
        // The listener was made with allowHalfOpen, or received over IPC without options: half-closes must survive the dial.
        (server as unknown as { allowHalfOpen: boolean }).allowHalfOpen = true;
        e.server = server;
        if (e.lastError) this.log(`${this.what} ${key}: listening now`);
        e.lastError = undefined;
        server.on('connection', (s: Socket) => this.onConnection(s, e.data, key));
        server.on('error', (err) => this.log(`${this.what} ${key}: ${err.message}`));
      },
      (err: Error) => {
        e.opening = false;
        if (e.lastError !== err.message) this.log(`${this.what} ${key}: cannot listen yet: ${err.message}`);
        e.lastError = err.message;
      },
    );
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) e.server?.close();
    this.entries.clear();
  }
}
