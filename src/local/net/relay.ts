// Copies bytes both ways between two connected sockets. Half-closes travel
// (a FIN from one side ends the other's writing side, the other direction
// keeps flowing), a reset travels as a reset, and both sockets are gone once
// the exchange is over or either side fails, so no descriptor outlives its
// connection.
import type { Socket } from 'node:net';

export function relay(a: Socket, b: Socket, onDone?: () => void): void {
  a.allowHalfOpen = true;
  b.allowHalfOpen = true;
  let failed = false;
  let closed = 0;
  const fail = (from: Socket, err: Error & { code?: string }) => {
    if (failed) return;
    failed = true;
    const other = from === a ? b : a;
    // A reset is an answer the client must see (e.g. a server that refused a session mid-way).
    // Only a TCP socket can send one: a unix socket (the API server's egress) throws, and is just closed.
    if (err.code === 'ECONNRESET' && !other.destroyed) {
      try {
        other.resetAndDestroy();
      } catch {
        other.destroy();
      }
    }
    a.destroy();
    b.destroy();
  };
  const onClose = (other: Socket) => {
    // A clean close means both directions ended; the other side is only flushing. Anything else cuts it.
    if (!other.destroyed && !other.writableEnded) other.destroy();
    if (++closed === 2) onDone?.();
  };
  a.on('error', (e) => fail(a, e));
  b.on('error', (e) => fail(b, e));
  a.on('close', () => onClose(b));
  b.on('close', () => onClose(a));
  a.pipe(b);
  b.pipe(a);
}
