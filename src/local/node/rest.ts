// A small JSON client for the API server, built on the kubeconfig's TLS
// settings. The node agent sends status patches and reads watch streams
// line by line; doing that directly keeps every byte it sends visible.
import { request as httpsRequest, Agent, type RequestOptions } from 'node:https';
import { k8s } from '../../kube/client-node.ts';

export class RestError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${code} ${body.slice(0, 300)}`);
  }
}

export const isCode = (err: unknown, code: number) => err instanceof RestError && err.code === code;

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class Rest {
  private constructor(
    readonly server: URL,
    private readonly tls: RequestOptions,
    readonly user: string,
  ) {}

  static async fromKubeconfig(file: string): Promise<Rest> {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(file);
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const server = new URL(kc.getCurrentCluster()!.server);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(server.hostname) && !server.hostname.startsWith('127.')) {
      throw new Error(`the node agent talks only to a loopback API server, not ${server.hostname}`);
    }
    const tls: RequestOptions = { ca: opts.ca, cert: opts.cert, key: opts.key, agent: new Agent({ keepAlive: true, maxSockets: 16 }) };
    return new Rest(server, tls, kc.getCurrentUser()?.name ?? '');
  }

  // Watches hold their connection for minutes: they get their own pool, so
  // they never starve ordinary requests.
  private readonly watchAgent = new Agent({ keepAlive: false });

  close(): void {
    (this.tls.agent as Agent).destroy();
    this.watchAgent.destroy();
  }

  private options(method: string, path: string, headers: Record<string, string>): RequestOptions {
    return { ...this.tls, method, hostname: this.server.hostname, port: this.server.port, path, headers: { Accept: 'application/json', ...headers } };
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = payload !== undefined ? { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(payload)) } : {};
    return new Promise<T>((resolve, reject) => {
      const req = httpsRequest(this.options(method, path, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) return reject(new RestError(res.statusCode ?? 0, text, `${method} ${path}`));
          try {
            resolve((text ? JSON.parse(text) : {}) as T);
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** Returns undefined on 404. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (isCode(err, 404)) return undefined;
      throw err;
    }
  }

  mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body, 'application/merge-patch+json');
  }

  strategicPatch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body, 'application/strategic-merge-patch+json');
  }

  /**
   * Streams watch events until the server closes the stream, an error occurs,
   * or signal aborts. Resolves when the stream ends.
   */
  watch<T>(path: string, onEvent: (ev: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = httpsRequest({ ...this.options('GET', path, {}), agent: this.watchAgent, signal }, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => reject(new RestError(res.statusCode ?? 0, text, `watch ${path}`)));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
          }
        });
        res.on('end', () => resolve());
        res.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
      });
      req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
      req.end();
    });
  }
}
