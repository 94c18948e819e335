// The gateway's foot inside the node network namespace (started there with
// `nsenter --net`). It only makes sockets: a socket keeps the namespace it was
// created in, so it connects or listens here and hands the descriptor to the
// gateway over Node's IPC channel; the gateway, on the host, does all the
// relaying. Nothing in this process reads or writes connection data.
import { createServer, Socket, type Server } from 'node:net';

type Request = { op: 'dial'; id: number; host: string; port: number; timeoutMs: number } | { op: 'listen'; id: number; host: string; port: number };

const send = (msg: unknown, handle?: Socket | Server, cb?: (err: Error | null) => void) => {
  if (!process.connected) return;
  process.send!(msg, handle, cb);
};

function dial(r: Extract<Request, { op: 'dial' }>): void {
  const s = new Socket({ allowHalfOpen: true });
  // Paused before it connects, so nothing is read here (a server that speaks first must reach the gateway's copy).
  s.pause();
  const timer = setTimeout(() => s.destroy(Object.assign(new Error(`connect ${r.host}:${r.port} timed out after ${r.timeoutMs} ms`), { code: 'ETIMEDOUT' })), r.timeoutMs);
  s.once('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    send({ id: r.id, error: err.code ?? 'EIO', message: err.message });
  });
  s.connect({ host: r.host, port: r.port }, () => {
    clearTimeout(timer);
    send({ id: r.id }, s, (err) => {
      if (err) s.destroy();
    });
  });
}

function listen(r: Extract<Request, { op: 'listen' }>): void {
  const srv = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  // Between listen() and the hand-over a connection can land here: pass it on too.
  srv.on('connection', (c) => send({ op: 'accepted', id: r.id }, c));
  srv.once('error', (err: NodeJS.ErrnoException) => send({ id: r.id, error: err.code ?? 'EIO', message: err.message }));
  srv.listen({ host: r.host, port: r.port, exclusive: true }, () => {
    // The descriptor is duplicated into the message when it is written; after that only the gateway's copy listens.
    send({ id: r.id }, srv, () => srv.close());
  });
}

process.on('message', (r: Request) => {
  if (r.op === 'dial') dial(r);
  else if (r.op === 'listen') listen(r);
});
// The gateway is gone: nothing to serve.
process.on('disconnect', () => process.exit(0));
send({ op: 'ready', pid: process.pid });
