import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildMutatingWebhookConfiguration, buildValidatingWebhookConfiguration } from '../../../src/webhook/registration.ts';
import { guard } from '../../../src/webhook/guard.ts';
import { formatFieldError } from '../../../src/webhook/field-error.ts';
import type { Lookups } from '../../../src/webhook/facts.ts';
import { fixture, PB_VERSIONS } from './helpers.ts';

describe('webhook registration', () => {
  it('points at a loopback URL on the local cluster and at a Service on a real one', () => {
    const local = buildValidatingWebhookConfiguration({ endpoint: { url: 'https://127.0.0.1:9443/' }, caBundle: 'Q0E=' });
    const pg = local.webhooks!.find((w) => w.name === 'postgreses.validators.kubedb.com')!;
    assert.deepEqual(pg.clientConfig, { url: 'https://127.0.0.1:9443/validate/postgreses', caBundle: 'Q0E=' });
    assert.deepEqual(pg.rules![0]!.operations, ['CREATE', 'UPDATE', 'DELETE']);
    assert.equal(pg.sideEffects, 'None');
    const ops = local.webhooks!.find((w) => w.name === 'pgpoolopsrequests.validators.ops.kubedb.com')!;
    // Not /status: there the API server keeps only the status, so there is nothing to validate.
    assert.deepEqual(ops.rules![0]!.resources, ['pgpoolopsrequests']);
    assert.equal(ops.sideEffects, 'None', 'admission changes no state (issue 11 item 3)');
    const real = buildMutatingWebhookConfiguration({ endpoint: { service: { namespace: 'kubedb', name: 'pgtls-webhook' } }, caBundle: 'Q0E=' });
    assert.equal(real.webhooks!.length, 6);
    assert.deepEqual(real.webhooks![0]!.clientConfig.service, { namespace: 'kubedb', name: 'pgtls-webhook', port: 443, path: '/mutate/postgreses' });
    assert.deepEqual(real.webhooks![0]!.rules![0]!.operations, ['CREATE', 'UPDATE']);
  });
});

describe('guard (the webhook rules for reconcilers)', () => {
  it('applies the same defaults and validators', async () => {
    const lookups: Lookups = { listVersions: async () => PB_VERSIONS, getDatabase: async () => undefined, getIssuer: async () => undefined, reviewAccess: async () => false };
    assert.deepEqual(await guard('PgBouncer', fixture('pgbouncer-pb-catalog.yaml'), lookups), []);
    const errs = await guard('PgBouncer', fixture('pgbouncer-pb.yaml'), lookups);
    assert.deepEqual(errs.map(formatFieldError), ['spec.version: Unsupported value: "1.24.0": supported values: "1.18.0"']);
  });
});
