import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { k8s } from '../../../src/kube/client.ts';
import { IDLE_SOCKET_MS, shareAgents } from '../../../src/kube/shared-agent.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeConfig(cert: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: b64('-----CA-----') }],
    users: [{ name: 'u', certData: b64(cert), keyData: b64('-----KEY-----') }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function agentFor(kc: k8s.KubeConfig): Promise<unknown> {
  const ctx = new k8s.RequestContext('https://127.0.0.1:6443/api/v1/pods', k8s.HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getAgent();
}

describe('shareAgents (client-node makes an https.Agent per call)', () => {
  it('without it, every call gets a new agent (the behaviour being corrected)', async () => {
    const kc = kubeConfig('-----CERT-----');
    assert.notEqual(await agentFor(kc), await agentFor(kc));
  });

  it('with it, calls share one keep-alive agent with the same TLS identity; idle sockets close', async () => {
    const kc = shareAgents(kubeConfig('-----CERT-----'));
    const a = await agentFor(kc);
    assert.equal(await agentFor(kc), a);
    assert.ok(a instanceof Agent);
    assert.equal((a as Agent & { keepAlive: boolean }).keepAlive, true);
    assert.equal(a.options.timeout, IDLE_SOCKET_MS);
    assert.equal(String(a.options.cert), '-----CERT-----');
    assert.equal(String(a.options.ca), '-----CA-----');
    assert.equal(shareAgents(kc), kc, 'idempotent');
    assert.equal(await agentFor(kc), a);
  });

  it('a client certificate that changes gets its own agent', async () => {
    const kc = shareAgents(kubeConfig('-----CERT-1-----'));
    const a = await agentFor(kc);
    kc.users[0] = { ...kc.users[0]!, certData: b64('-----CERT-2-----') };
    const b = await agentFor(kc);
    assert.notEqual(b, a);
    assert.equal(String((b as Agent).options.cert), '-----CERT-2-----');
  });
});
