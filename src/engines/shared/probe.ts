// The pgwire TLS probe: SSLRequest, then a TLS handshake on the same socket, then the served
// leaf certificate. This is the proof that a reload or restart really changed what clients get:
// reload commands answer "OK" even when the server rejected the new files.
import net from 'node:net';
import tls from 'node:tls';
import { parseCertificate } from '../../certs/pem.ts';

export interface ProbeTarget {
  host: string;
  port: number;
  /** SNI and hostname for `verify`; defaults to host when host is a name. */
  serverName?: string;
}

export interface ServedCert {
  kind: 'tls';
  fingerprint256: string;
  serial: string;
  subject: string;
  issuer: string;
  notAfter: Date;
  protocol: string | null;
  /** The negotiated cipher suite (OpenSSL name). */
  cipher?: string;
  /** Set when `ca` was given: did the chain (and hostname, if serverName/host is usable) verify? */
  authorized?: boolean;
  authorizationError?: string;
  certPem: string;
}

export type ProbeResult = ServedCert | { kind: 'no-ssl' } | { kind: 'error'; error: string };

export interface ProbeOptions {
  timeoutMs?: number;
  /** Verify the served chain against this CA bundle (PEM); the result says whether it passed. */
  ca?: string;
  /** What the client offers (tests of a server's TLS policy: an old version, a weak cipher). */
  offer?: Pick<tls.ConnectionOptions, 'minVersion' | 'maxVersion' | 'ciphers'>;
}

const SSL_REQUEST = (() => {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(80877103, 4);
  return b;
})();

function sni(t: ProbeTarget): string | undefined {
  const name = t.serverName ?? t.host;
  return net.isIP(name) ? undefined : name;
}

/** One probe; never throws, always settles within timeoutMs. */
export function probeTls(target: ProbeTarget, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return new Promise((resolve) => {
    let settled = false;
    let tsock: tls.TLSSocket | undefined;
    const sock = net.connect({ host: target.host, port: target.port });
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tsock?.destroy();
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ kind: 'error', error: `timeout after ${timeoutMs} ms` }), timeoutMs);
    sock.once('error', (e: NodeJS.ErrnoException) => done({ kind: 'error', error: e.code ?? e.message }));
    sock.once('close', () => done({ kind: 'error', error: 'connection closed' }));
    sock.once('connect', () => sock.write(SSL_REQUEST));
    sock.once('data', (d) => {
      if (d[0] === 0x4e) return done({ kind: 'no-ssl' }); // 'N': the server does not do TLS
      if (d[0] !== 0x53) return done({ kind: 'error', error: `unexpected answer 0x${d[0]?.toString(16)} to SSLRequest` });
      sock.removeAllListeners('close');
      const servername = sni(target);
      tsock = tls.connect({
        socket: sock,
        servername,
        rejectUnauthorized: false,
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...opts.offer,
      });
      tsock.once('error', (e: NodeJS.ErrnoException) => done({ kind: 'error', error: `tls: ${e.code ?? e.message}` }));
      tsock.once('secureConnect', () => {
        const t = tsock!;
        const peer = t.getPeerX509Certificate();
        if (!peer) return done({ kind: 'error', error: 'tls: no peer certificate' });
        const r: ServedCert = {
          kind: 'tls',
          fingerprint256: peer.fingerprint256,
          serial: peer.serialNumber.toUpperCase(),
          subject: peer.subject,
          issuer: peer.issuer,
          notAfter: new Date(peer.validTo),
          protocol: t.getProtocol(),
          cipher: t.getCipher().name,
          certPem: peer.toString(),
        };
        if (opts.ca) {
          let err = t.authorizationError ? String(t.authorizationError) : undefined;
          const host = target.serverName ?? target.host;
          if (!err) err = tls.checkServerIdentity(host, peer.toLegacyObject())?.message;
          r.authorized = !err;
          if (err) r.authorizationError = err;
        }
        done(r);
      });
    });
  });
}

/** What we expect a server to serve: a given certificate, or no TLS at all. */
export type Expected = { certPem: string } | 'no-ssl';

export interface VerifyOptions {
  /** Overall deadline; a restart needs seconds, a reload milliseconds. */
  timeoutMs?: number;
  intervalMs?: number;
  /** Hard cap on probes, so the loop is bounded in count as well as time. */
  maxAttempts?: number;
  probeTimeoutMs?: number;
  ca?: string;
}

export interface VerifyResult {
  served: ProbeResult;
  attempts: number;
  elapsedMs: number;
}

export class ServedMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly served: ProbeResult,
    readonly attempts: number,
    readonly elapsedMs: number,
  ) {
    super(`${describeExpected(expected)} not served after ${attempts} probes in ${Math.round(elapsedMs)} ms; served instead: ${describe(served)}`);
    this.name = 'ServedMismatchError';
  }
}

function describeExpected(e: string): string {
  return e === 'no-ssl' ? 'plain text (no TLS)' : `certificate ${e}`;
}

/** A one-line, secret-free description of a probe result, for errors and logs. */
export function describe(r: ProbeResult): string {
  switch (r.kind) {
    case 'tls':
      return `certificate ${r.fingerprint256} (serial ${r.serial}, subject "${r.subject.replace(/\n/g, ', ')}", issuer "${r.issuer.replace(/\n/g, ', ')}"${r.authorizationError ? `, not trusted: ${r.authorizationError}` : ''})`;
    case 'no-ssl':
      return 'no TLS (the server answered N to SSLRequest)';
    case 'error':
      return `no answer (${r.error})`;
  }
}

function matches(r: ProbeResult, expected: string, ca: string | undefined): boolean {
  if (expected === 'no-ssl') return r.kind === 'no-ssl';
  return r.kind === 'tls' && r.fingerprint256 === expected && (ca === undefined || r.authorized === true);
}

/**
 * Probes until the server serves what we expect, bounded by time and count; throws
 * ServedMismatchError saying what is served instead. The first probe after a reload can
 * still see the old certificate, hence the polling.
 */
export async function verifyServed(target: ProbeTarget, expected: Expected, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const want = expected === 'no-ssl' ? 'no-ssl' : fingerprintOf(expected.certPem);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const intervalMs = opts.intervalMs ?? 5;
  const maxAttempts = opts.maxAttempts ?? 2000;
  const t0 = performance.now();
  let attempts = 0;
  let last: ProbeResult = { kind: 'error', error: 'not probed' };
  // What the server last really answered: reported in preference to a probe cut short by the deadline.
  let lastAnswer: ProbeResult | undefined;
  while (attempts < maxAttempts) {
    const left = timeoutMs - (performance.now() - t0);
    if (left <= 0) break;
    attempts++;
    last = await probeTls(target, { timeoutMs: Math.min(opts.probeTimeoutMs ?? 2000, Math.max(left, 250)), ca: opts.ca });
    if (last.kind !== 'error') lastAnswer = last;
    if (matches(last, want, opts.ca)) return { served: last, attempts, elapsedMs: performance.now() - t0 };
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new ServedMismatchError(want, lastAnswer ?? last, attempts, performance.now() - t0);
}

function fingerprintOf(certPem: string): string {
  return parseCertificate(certPem).fingerprint256;
}

