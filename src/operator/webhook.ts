// The operator's admission webhook: a cert-manager-issued serving certificate,
// the HTTPS AdmissionReview server, and the webhook configurations that point
// the API server at it. The serving Secret is polled: a renewed certificate is
// rewritten to the files the server reloads, and a changed CA re-registers the
// caBundle.
//
// Who registers: with a Service endpoint (a real cluster) every replica serves
// behind the Service and registers the same configuration (idempotent). With a
// loopback URL (the local cluster) each replica has its own port, so only the
// replica that leads registers, pointing the API server at itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { HttpMethod, PatchStrategy, type Kube } from '../kube/client.ts';
import { startWebhookServer, type WebhookServer } from '../webhook/server.ts';
import { kubeLookups } from '../webhook/kube-lookups.ts';
import { registerWebhooks, type WebhookEndpoint } from '../webhook/registration.ts';
import { OWNED_NAMES } from './rbac.ts';
import { ensureWebhookCertificate, readServingSecret, writeServingFiles, type ServingSecret } from './webhook-cert.ts';

export type AdmissionEndpoint = { kind: 'url'; host: string; port: number } | { kind: 'service'; namespace: string; name: string; port?: number };

export interface AdmissionOptions {
  /** Where the cert-manager objects live (and the readiness dry run runs). */
  namespace: string;
  endpoint: AdmissionEndpoint;
  /** Address the HTTPS server binds; defaults to 127.0.0.1 (in-cluster: pass 0.0.0.0 explicitly). */
  listenHost?: string;
  /** Port the HTTPS server binds (for a URL endpoint, endpoint.port). */
  listenPort?: number;
  /** Directory for tls.crt/tls.key; a private temp directory when absent (removed on stop). */
  certDir?: string;
  /** Prefix of the webhook configurations' names. */
  configName?: string;
  secretPollMs?: number;
  /** Only the API server may send reviews: its client certificate's CA, and its names (see startWebhookServer). */
  clientCaFile?: string;
  clientNames?: string[];
  log: Logger;
}

export interface AdmissionState {
  serving: boolean;
  registered: boolean;
  /** The API server calls this replica's webhook (a dry run was refused by it). */
  verified: boolean;
  certLoads: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Admission {
  private server?: WebhookServer;
  private secret?: ServingSecret;
  private files?: { certFile: string; keyFile: string };
  private ownDir?: string;
  private poll?: NodeJS.Timeout;
  private registering = false;
  private verifying?: Promise<void>;
  private stopped = false;
  private readonly st: AdmissionState = { serving: false, registered: false, verified: false, certLoads: 0 };
  /** For a URL endpoint: register only while this is true (the leader). */
  private mayRegister: boolean;

  constructor(
    private readonly kube: Kube,
    private readonly opts: AdmissionOptions,
  ) {
    this.mayRegister = opts.endpoint.kind === 'service';
  }

  get state(): AdmissionState {
    return { ...this.st, certLoads: this.server?.certLoads() ?? 0 };
  }

  /** Ready for traffic: serving, and registered where this replica registers. */
  get ready(): boolean {
    return this.st.serving && (!this.mayRegister || (this.st.registered && this.st.verified));
  }

  get url(): string | undefined {
    return this.server?.url;
  }

  private endpoint(): WebhookEndpoint {
    const e = this.opts.endpoint;
    if (e.kind === 'service') return { service: { namespace: e.namespace, name: e.name, port: e.port } };
    return { url: `https://${e.host}:${this.server?.port ?? e.port}` };
  }

  async start(): Promise<void> {
    const { log } = this.opts;
    const e = this.opts.endpoint;
    const sans = e.kind === 'url' ? { ipAddresses: [e.host] } : { dnsNames: [`${e.name}.${e.namespace}.svc`, `${e.name}.${e.namespace}.svc.cluster.local`] };
    this.secret = await ensureWebhookCertificate(this.kube, { namespace: this.opts.namespace, ...sans });
    const dir = this.opts.certDir ?? (this.ownDir = mkdtempSync(join(tmpdir(), 'pgtls-webhook-')));
    this.files = writeServingFiles(dir, this.secret);
    this.server = await startWebhookServer({
      ...this.files,
      host: this.opts.listenHost ?? '127.0.0.1',
      port: this.opts.listenPort ?? (e.kind === 'url' ? e.port : 8443),
      lookups: kubeLookups(this.kube),
      clientCaFile: this.opts.clientCaFile,
      clientNames: this.opts.clientNames,
      log: (m) => log.info(m),
    });
    this.st.serving = true;
    log.info({ url: this.server.url, secret: `${this.opts.namespace}/pgtls-webhook-serving` }, 'admission webhook serving');
    const every = this.opts.secretPollMs ?? 5000;
    this.poll = setInterval(() => void this.refresh().catch((err: unknown) => log.warn({ err: String(err) }, 'webhook certificate check failed')), every);
    if (this.mayRegister) await this.register();
  }

  /** Leadership changed (URL endpoint): the new leader points the API server at itself. */
  async setLeading(leading: boolean): Promise<void> {
    if (this.opts.endpoint.kind === 'service') return;
    this.mayRegister = leading;
    if (!leading) {
      this.st.registered = false;
      this.st.verified = false;
      return;
    }
    if (this.server) await this.register();
  }

  /** Re-reads the serving Secret: new files for the server, a new caBundle for the API server. */
  async refresh(): Promise<void> {
    if (this.stopped || !this.files) return;
    // Retry what failed earlier: registration, or the API server not calling us yet.
    if (this.mayRegister && !this.st.registered) await this.register();
    else if (this.mayRegister && !this.st.verified) this.verifying ??= this.verify().finally(() => (this.verifying = undefined));
    const s = await readServingSecret(this.kube, { namespace: this.opts.namespace });
    if (!s || s.resourceVersion === this.secret?.resourceVersion) return;
    const caChanged = s.caBundle !== this.secret?.caBundle;
    const certChanged = s.cert !== this.secret?.cert || s.key !== this.secret?.key;
    this.secret = s;
    if (certChanged) {
      writeServingFiles(join(this.files.certFile, '..'), s);
      this.opts.log.info('webhook serving certificate renewed; files rewritten');
    }
    if (caChanged && this.mayRegister) {
      this.opts.log.info('webhook CA changed; re-registering the caBundle');
      await this.register();
    }
  }

  private async register(): Promise<void> {
    if (this.registering || !this.secret) return;
    this.registering = true;
    try {
      await registerWebhooks(this.kube, { endpoint: this.endpoint(), caBundle: this.secret.caBundle, name: this.opts.configName });
      this.st.registered = true;
      this.opts.log.info({ endpoint: this.endpoint() }, 'webhook configurations registered');
    } finally {
      this.registering = false;
    }
    this.verifying ??= this.verify().finally(() => (this.verifying = undefined));
  }

  /**
   * The API server loads webhook configurations asynchronously: a server-side
   * dry run of a Postgres with a version no catalog has is refused by our
   * validator once it is called (by the schema alone it would be accepted).
   * The dry run is a server-side apply, not a create: an apply is authorized
   * with the object's name, so the operator's Role allows exactly this name.
   */
  private async verify(timeoutMs = 60_000): Promise<void> {
    const body = {
      apiVersion: 'kubedb.com/v1',
      kind: 'Postgres',
      metadata: { name: OWNED_NAMES.webhookProbe, namespace: this.opts.namespace },
      spec: { version: OWNED_NAMES.webhookProbe, storageType: 'Ephemeral' },
    };
    const path = `/apis/kubedb.com/v1/namespaces/${this.opts.namespace}/postgreses/${OWNED_NAMES.webhookProbe}`;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (!this.stopped && this.mayRegister && Date.now() < deadline) {
      try {
        await this.kube.objects.send(HttpMethod.PATCH, path, {
          body,
          contentType: PatchStrategy.ServerSideApply,
          query: { fieldManager: 'pgtls-webhook-probe', force: 'true', dryRun: 'All' },
        });
        last = 'the dry run was accepted (webhook not called yet)';
      } catch (err) {
        const text = String((err as { body?: unknown }).body ?? err);
        if (/spec\.version/.test(text) && !/failed calling webhook/.test(text)) {
          this.st.verified = true;
          this.opts.log.info('the API server calls the webhook');
          return;
        }
        last = text.slice(0, 300);
      }
      await sleep(250);
    }
    if (!this.stopped && this.mayRegister) this.opts.log.warn({ last }, 'the API server did not call the webhook in time');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    await this.server?.close();
    this.st.serving = false;
    if (this.ownDir) rmSync(this.ownDir, { recursive: true, force: true });
  }
}
