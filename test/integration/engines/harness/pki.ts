// Test PKI: two CAs (RSA and ECDSA, like the notes' CA1/CA2), server leaves that cover
// localhost and 127.0.0.1, and client certificates whose CN is the database user.
import { issueCa, issueLeaf, type IssuedCa, type KeyPairPem } from '../../../../src/certs/issue.ts';
import type { TlsMaterial } from './process/files.ts';

export interface TestPki {
  caA: IssuedCa;
  caB: IssuedCa;
  server(ca: IssuedCa, o?: { dnsNames?: string[]; ipAddresses?: string[]; serial?: string }): Promise<KeyPairPem>;
  client(ca: IssuedCa, user: string): Promise<KeyPairPem>;
  /** Leaf + key + the CA file a server reads (its own CA unless a bundle is given). */
  material(ca: IssuedCa, leaf: KeyPairPem, caPem?: string): TlsMaterial;
}

export async function testPki(): Promise<TestPki> {
  const [caA, caB] = await Promise.all([
    issueCa({ commonName: 'pgtls test CA A', algorithm: 'rsa', organizations: ['kubedb'] }),
    issueCa({ commonName: 'pgtls test CA B', algorithm: 'ecdsa', organizations: ['kubedb-updated'] }),
  ]);
  return {
    caA,
    caB,
    server: (ca, o = {}) =>
      issueLeaf(ca, {
        commonName: 'localhost',
        usage: 'server',
        dnsNames: o.dnsNames ?? ['localhost'],
        ipAddresses: o.ipAddresses ?? ['127.0.0.1'],
        serial: o.serial,
        algorithm: ca.algorithm,
      }),
    client: (ca, user) => issueLeaf(ca, { commonName: user, usage: 'client', algorithm: ca.algorithm }),
    material: (ca, leaf, caPem) => ({ certPem: leaf.certPem, keyPem: leaf.keyPem, caPem: caPem ?? ca.certPem }),
  };
}
