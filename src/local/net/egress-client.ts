// A host process (the node agent's probes and port-forward, tools) reaching
// an address inside the node namespace through the gateway's socket, the way
// the API server does: HTTP CONNECT, then the tunnel is the connection.
import { connect, type Socket } from 'node:net';

export class EgressError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * A connection to host:port through the gateway, returned paused (pipe it or
 * resume it); rejects with the gateway's answer when it refuses or cannot dial.
 */
export function dialThroughGateway(socketPath: string, host: string, port: number, timeoutMs = 10_000): Promise<Socket> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const s = connect({ path: socketPath, allowHalfOpen: true });
    const t = setTimeout(() => s.destroy(new Error(`CONNECT ${target} through ${socketPath}: no answer in ${timeoutMs} ms`)), timeoutMs);
    let buf = Buffer.alloc(0);
    const fail = (e: Error) => {
      clearTimeout(t);
      s.destroy();
      reject(e);
    };
    s.once('error', fail);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 16 * 1024) fail(new Error(`CONNECT ${target}: answer too long`));
        return;
      }
      s.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      if (status !== 200) {
        // The gateway closes after its reason: read it to the end for the message.
        let rest = buf.subarray(end + 4).toString();
        s.on('data', (x: Buffer) => (rest += x.toString()));
        s.once('end', () => fail(new EgressError(`CONNECT ${target}: ${head.split('\r\n')[0]}: ${rest.trim()}`, status)));
        s.resume();
        return;
      }
      clearTimeout(t);
      s.off('error', fail);
      // Paused, like a socket accepted with pauseOnConnect: nothing is lost before the caller pipes it or resumes.
      s.pause();
      // Bytes the server sent right after the tunnel opened belong to the caller.
      const early = buf.subarray(end + 4);
      if (early.length > 0) s.unshift(early);
      resolve(s);
    };
    s.on('data', onData);
    s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}
