// A minimal SPDY/3.1 server connection, enough for the streams the API server
// opens to a kubelet for exec and port-forward (it speaks SPDY to kubelets,
// also when kubectl came in over WebSocket). Framing and header compression
// follow the SPDY/3 draft as implemented by github.com/moby/spdystream, which
// does no flow control: WINDOW_UPDATE frames are read and ignored.
import { createDeflate, createInflate, constants, type Deflate, type Inflate } from 'node:zlib';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

/** The SPDY/3 header compression dictionary (from the draft specification). */
const DICTIONARY = Buffer.from('AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2VwdC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UAAAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNlAAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBTYXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==', 'base64');

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const SETTINGS = 4;
const PING = 6;
const GOAWAY = 7;
const HEADERS = 8;
const WINDOW_UPDATE = 9;
const FLAG_FIN = 0x01;

export class SpdyStream extends EventEmitter {
  finSent = false;
  finReceived = false;
  /** The peer reset the stream: nothing more is sent on it. */
  resetReceived = false;
  constructor(
    readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: Record<string, string>,
  ) {
    super();
  }

  write(data: Buffer): void {
    if (this.finSent || this.resetReceived || data.length === 0) return;
    for (let off = 0; off < data.length; off += 0xffff) this.conn.dataFrame(this.id, data.subarray(off, off + 0xffff), 0);
  }

  end(): void {
    if (this.finSent || this.resetReceived) return;
    this.finSent = true;
    this.conn.dataFrame(this.id, Buffer.alloc(0), FLAG_FIN);
    this.conn.settle(this);
  }

  reset(): void {
    this.finSent = true;
    this.conn.control(RST_STREAM, 0, Buffer.from([(this.id >>> 24) & 0x7f, (this.id >>> 16) & 255, (this.id >>> 8) & 255, this.id & 255, 0, 0, 0, 5]));
  }
}

function encodeHeaders(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(Object.keys(h).length);
  parts.push(n);
  for (const [k, v] of Object.entries(h)) {
    for (const s of [k.toLowerCase(), v]) {
      const b = Buffer.from(s);
      const l = Buffer.alloc(4);
      l.writeUInt32BE(b.length);
      parts.push(l, b);
    }
  }
  return Buffer.concat(parts);
}

function decodeHeaders(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  const n = b.readUInt32BE(off);
  off += 4;
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt32BE(off);
    const k = b.subarray(off + 4, off + 4 + kl).toString();
    off += 4 + kl;
    const vl = b.readUInt32BE(off);
    // Multiple values are NUL-separated; the first is enough here.
    out[k] = b.subarray(off + 4, off + 4 + vl).toString().split('\0')[0]!;
    off += 4 + vl;
  }
  return out;
}

/** Runs a zlib stream one flushed block at a time (header blocks share one context per direction). */
class BlockCodec {
  private queue: Promise<unknown> = Promise.resolve();
  private chunks: Buffer[] = [];
  constructor(private readonly z: Deflate | Inflate) {
    z.on('data', (c: Buffer) => this.chunks.push(c));
    z.on('error', () => {});
  }
  run(input: Buffer): Promise<Buffer> {
    const p = this.queue.then(
      () =>
        new Promise<Buffer>((resolve) => {
          this.z.write(input);
          this.z.flush(constants.Z_SYNC_FLUSH, () => {
            const out = Buffer.concat(this.chunks);
            this.chunks = [];
            resolve(out);
          });
        }),
    );
    this.queue = p.catch(() => undefined);
    return p;
  }
  close(): void {
    this.z.destroy();
  }
}

export class SpdyConnection extends EventEmitter {
  readonly streams = new Map<number, SpdyStream>();
  private buf: Buffer = Buffer.alloc(0);
  private readonly deflate = new BlockCodec(createDeflate({ dictionary: DICTIONARY }));
  private readonly inflate = new BlockCodec(createInflate({ dictionary: DICTIONARY }));
  private writeChain: Promise<void> = Promise.resolve();
  closed = false;

  constructor(readonly socket: Duplex) {
    super();
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => this.shutdown());
    socket.on('error', () => this.shutdown());
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.deflate.close();
    this.inflate.close();
    for (const s of this.streams.values()) s.emit('close');
    this.emit('close');
  }

  close(): void {
    this.writeChain = this.writeChain.then(() => {
      this.socket.end();
    });
  }

  /** Frames go out in order, after any pending header compression. */
  private send(frame: Promise<Buffer> | Buffer): void {
    this.writeChain = this.writeChain.then(async () => {
      const b = await frame;
      if (!this.closed) this.socket.write(b);
    });
  }

  control(type: number, flags: number, data: Buffer): void {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8003, 0);
    h.writeUInt16BE(type, 2);
    h.writeUInt32BE(((flags & 255) << 24) | data.length, 4);
    this.send(Buffer.concat([h, data]));
  }

  dataFrame(id: number, data: Buffer, flags: number): void {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(id & 0x7fffffff, 0);
    h.writeUInt32BE(((flags & 255) << 24) | data.length, 4);
    this.send(Buffer.concat([h, data]));
  }

  reply(stream: SpdyStream, headers: Record<string, string> = {}): void {
    const frame = this.deflate.run(encodeHeaders(headers)).then((block) => {
      const body = Buffer.alloc(4);
      body.writeUInt32BE(stream.id & 0x7fffffff);
      const h = Buffer.alloc(8);
      h.writeUInt16BE(0x8003, 0);
      h.writeUInt16BE(SYN_REPLY, 2);
      h.writeUInt32BE(4 + block.length, 4);
      return Buffer.concat([h, body, block]);
    });
    this.send(frame);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + len) return;
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      this.frame(frame);
    }
  }

  private frame(f: Buffer): void {
    const flags = f[4]!;
    const data = f.subarray(8);
    if ((f[0]! & 0x80) === 0) {
      const id = f.readUInt32BE(0) & 0x7fffffff;
      const s = this.streams.get(id);
      if (!s) return;
      // Data is delivered in order, after the SYN_STREAM's headers were decoded.
      void this.inOrder(() => {
        if (data.length) s.emit('data', Buffer.from(data));
        if (flags & FLAG_FIN) {
          s.finReceived = true;
          s.emit('end');
          this.settle(s);
        }
      });
      return;
    }
    const type = f.readUInt16BE(2);
    switch (type) {
      case SYN_STREAM: {
        const id = data.readUInt32BE(0) & 0x7fffffff;
        const s = new SpdyStream(this, id, {});
        this.streams.set(id, s);
        const decoded = this.inflate.run(data.subarray(10));
        void this.inOrder(async () => {
          Object.assign(s.headers, decodeHeaders(await decoded));
          this.emit('stream', s);
          if (flags & FLAG_FIN) {
            s.finReceived = true;
            s.emit('end');
          }
        });
        break;
      }
      case RST_STREAM: {
        const id = data.readUInt32BE(0) & 0x7fffffff;
        const s = this.streams.get(id);
        void this.inOrder(() => {
          if (!s) return;
          s.resetReceived = true;
          this.streams.delete(id);
          s.emit('reset');
          if (!s.finReceived) {
            s.finReceived = true;
            s.emit('end');
          }
        });
        break;
      }
      case PING:
        this.control(PING, 0, Buffer.from(data));
        break;
      case GOAWAY:
        this.close();
        break;
      case HEADERS:
        void this.inflate.run(data.subarray(4));
        break;
      case SYN_REPLY:
        void this.inflate.run(data.subarray(4));
        break;
      case SETTINGS:
      case WINDOW_UPDATE:
      default:
        break;
    }
  }

  /** A stream closed in both directions is forgotten (a long port-forward opens many). */
  settle(s: SpdyStream): void {
    if (s.finSent && s.finReceived) this.streams.delete(s.id);
  }

  private tail: Promise<void> = Promise.resolve();
  private inOrder(fn: () => void | Promise<void>): Promise<void> {
    this.tail = this.tail.then(fn).catch(() => undefined);
    return this.tail;
  }
}
